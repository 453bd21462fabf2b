"""Watching a dispatch from a terminal or a script: `send_issue --wait`, `dispatch_status --wait`.

On a terminal one line redraws itself (a bar, the counts, the rate, the time left); into a
pipe or a log file plain lines go out every few seconds, without carriage returns or escape
codes, so the log reads line by line. When nothing moves for `stall_seconds` the broker is
asked whether any worker is listening, and the answer says what to start.
"""

from __future__ import annotations

import shutil
import signal
import threading
import time

from django.conf import settings
from django.core.management.base import OutputWrapper
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from worker.broker import PING_TIMEOUT_SECONDS, BrokerReport, broker_report
from worker.models import Dispatch, DispatchStatus
from worker.progress_text import counts_text, duration_text, eta_text, rate_text, summary_text
from worker.selectors import DispatchProgress, dispatch_progress
from worker.services import next_attempt_due

# The wording: "after about 30 s without progress".
STALL_SECONDS_DEFAULT = 30.0
# Plain lines (not a terminal): one every this many seconds, and on every status change.
PLAIN_INTERVAL_DEFAULT = 10.0
POLL_SECONDS = 0.5
# The counts are one pass over the dispatch's rows (dispatch_progress), dearer the bigger the
# dispatch: 7.5 ms a reading at 20,000 rows here, a twentieth of the PostgreSQL CPU of sending
# them when read every POLL_SECONDS. Plain lines need them every `interval` and a stall shows
# after `stall_seconds`, so off a terminal they are read at most this often, and only the
# dispatch's status (one row) at the polls between: its end or pause is still seen at once.
COUNT_SECONDS = 2.0
BAR_WIDTH = 24


def progress_bar(progress: DispatchProgress, width: int = BAR_WIDTH) -> str:
    filled = round(width * progress.percent / 100)
    return "[" + "#" * filled + "-" * (width - filled) + f"] {progress.percent:3d}%"


def progress_line(progress: DispatchProgress) -> str:
    """One line with everything: bar, status, counts, rate and time left."""
    return (
        f"{progress_bar(progress)} {progress.status_display}: {counts_text(progress)}"
        f" · {rate_text(progress)} · kvar: {eta_text(progress)}"
    )


def progress_line_compact(progress: DispatchProgress, columns: int) -> str:
    """The terminal's line: what matters most first, the bar shrunk to leave room for it."""
    rate = "–" if progress.rate_per_second is None else f"{progress.rate_per_second:.1f}"
    text = (
        f" {progress.sent}/{progress.total} skickade · {progress.failed} fel · "
        f"{rate} brev/s · kvar: {eta_text(progress)}"
    )
    width = max(10, min(BAR_WIDTH, columns - 1 - len(text) - 7))
    return (progress_bar(progress, width) + text)[: max(20, columns - 1)]


def stall_text(report: BrokerReport, *, seconds: float, dispatch_id: int) -> str:
    """What to tell an operator whose dispatch has not moved: what was checked, what to do."""
    lines = [
        f"VARNING: utskick {dispatch_id} har inte kommit framåt på {duration_text(seconds)}.",
    ]
    start = [
        "  Starta arbetare (så många du vill, på valfria maskiner, samma DATABASE_URL, "
        "REDIS_URL och EMAIL_URL):",
        "      celery -A worker worker",
        "  och exakt en schemaläggare (svepet och schemalagda utskick):",
        "      celery -A worker beat",
    ]
    if not report.reachable:
        lines += [
            f"  Mäklaren {report.url} (REDIS_URL) går inte att nå: {report.error}",
            "  Kontrollera REDIS_URL och att Redis kör; arbetarna behöver samma adress.",
            *start,
        ]
    elif not report.workers:
        waiting = (
            f"{report.queue_length} uppgifter väntar i kön {report.queue!r}"
            if report.queue_length is not None
            else f"kön {report.queue!r} gick inte att räkna"
        )
        lines += [
            "  Ingen arbetare verkar ta emot kön: ingen svarade på ping från mäklaren "
            f"{report.url} (REDIS_URL) inom {PING_TIMEOUT_SECONDS:g} s; {waiting}.",
            *start,
        ]
    else:
        lines += [
            f"  {len(report.workers)} arbetare svarar på mäklaren {report.url}: "
            f"{', '.join(report.workers)}; {report.queue_length} uppgifter väntar i kön.",
            "  De skickar ändå inget: se arbetarnas logg, att e-postservern (EMAIL_URL) svarar "
            "och att de använder samma DATABASE_URL som det här kommandot.",
            "  Kör exakt en `celery -A worker beat`: utan den tas en död arbetares rader aldrig "
            "tillbaka.",
        ]
    return "\n".join(lines)


class DispatchWatch:
    """Polls dispatch_progress until the dispatch is final or paused; returns the last reading."""

    def __init__(
        self,
        *,
        stdout: OutputWrapper,
        stderr: OutputWrapper,
        stall_seconds: float = STALL_SECONDS_DEFAULT,
        interval: float = PLAIN_INTERVAL_DEFAULT,
    ) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.interactive = stdout.isatty()
        self.stall_seconds = stall_seconds
        self.interval = interval
        self._drawn = 0  # length of the line on screen, to blank what a shorter one leaves

    def _draw(self, progress: DispatchProgress) -> None:
        if self.interactive:
            # A line wider than the terminal wraps, and "\r" would then only go back to the
            # start of its last row: keep it to one row.
            line = progress_line_compact(progress, shutil.get_terminal_size().columns)
            self.stdout.write("\r" + line.ljust(self._drawn), ending="")
            self.stdout.flush()
            self._drawn = len(line)
        else:
            self.stdout.write(progress_line(progress))
            self.stdout.flush()

    def _say(self, text: str) -> None:
        """A message of its own, on fresh lines, to stderr (where scripts look for trouble)."""
        if self.interactive and self._drawn:
            self.stdout.write("")
            self._drawn = 0
        self.stderr.write(text)
        self.stderr.flush()

    def run(self, *, dispatch_id: int) -> DispatchProgress:
        # Ctrl-C (SIGINT) is noted and acted on between polls, not raised wherever it lands:
        # raised inside a query, psycopg first cancels that query on the server and waits up
        # to twice 5 s for it, and after the connection was cut (a database restart) the
        # watch could take that long to end. A second Ctrl-C ends it at once, wherever it is
        # (a poll stuck behind a lock). Only in the main thread, where a handler can be set;
        # elsewhere the default KeyboardInterrupt still ends it below.
        self._interrupted = self._pausing = False
        handler_set = threading.current_thread() is threading.main_thread()
        if handler_set:
            previous = signal.signal(signal.SIGINT, self._interrupt)
        try:
            return self._run(dispatch_id=dispatch_id)
        except KeyboardInterrupt:
            # Only the watching stops: the workers go on sending.
            self._say(
                f"Slutade följa utskick {dispatch_id}; det fortsätter. "
                f"Följ det igen med: python manage.py dispatch_status {dispatch_id} --wait"
            )
            raise SystemExit(130) from None
        finally:
            if handler_set:
                signal.signal(signal.SIGINT, previous)

    def _interrupt(self, *_signal) -> None:
        if self._pausing or self._interrupted:  # between polls, or pressed again: end now
            raise KeyboardInterrupt
        self._interrupted = True

    def _pause(self, seconds: float) -> None:
        """Wait between polls; raise KeyboardInterrupt once Ctrl-C was pressed."""
        if self._interrupted:  # pressed while a poll ran
            raise KeyboardInterrupt
        self._pausing = True
        try:
            time.sleep(seconds)
        finally:
            self._pausing = False

    def _progress_read(self, *, dispatch_id: int, last: DispatchProgress | None):
        """The progress, counted anew on a terminal, when COUNT_SECONDS (or less, for a short
        `interval` or `stall_seconds`) have passed, and when the status changed; else `last`."""
        now = time.monotonic()
        count_every = min(COUNT_SECONDS, self.interval, self.stall_seconds / 2)
        if self.interactive or last is None or now - self._counted_at >= count_every:
            self._counted_at = now
            return dispatch_progress(dispatch_id=dispatch_id)
        status = Dispatch.objects.filter(pk=dispatch_id).values_list("status", flat=True).first()
        if status != last.status:
            self._counted_at = now
            return dispatch_progress(dispatch_id=dispatch_id)
        return last

    def _run(self, *, dispatch_id: int) -> DispatchProgress:
        last_marker = None
        moved_at = printed_at = time.monotonic()
        last_status = None
        warned = False
        unreachable = False
        progress = None
        self._counted_at = 0.0
        while True:
            try:
                progress = self._progress_read(dispatch_id=dispatch_id, last=progress)
            except (OperationalError, InterfaceError) as error:
                # A database restart must not end the watch: the workers carry on meanwhile.
                if not unreachable:
                    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
                    self._say(f"Databasen svarar inte ({first_line}); försöker igen.")
                    unreachable = True
                connection.close()
                self._pause(POLL_SECONDS * 4)
                continue
            if unreachable:
                self._say("Databasen svarar igen.")
                unreachable = False
            now = time.monotonic()
            marker = (progress.finished, progress.sending)
            if marker != last_marker:
                if warned and last_marker is not None:
                    self._say(f"Utskick {dispatch_id} kommer framåt igen.")
                    warned = False
                last_marker, moved_at = marker, now
            ended = progress.is_final or progress.status == DispatchStatus.PAUSED
            if ended:
                break
            if self.interactive:
                self._draw(progress)
            elif progress.status != last_status or now - printed_at >= self.interval:
                self._draw(progress)
                printed_at = now
            last_status = progress.status
            if (
                not warned
                and progress.status == DispatchStatus.SENDING
                and not settings.CELERY_TASK_ALWAYS_EAGER
                and now - moved_at >= self.stall_seconds
            ):
                warned = True
                due = next_attempt_due(dispatch_id=dispatch_id)
                if not progress.sending and due is not None and due > timezone.now():
                    # Only rows waiting out a retry backoff are left: a pause by design.
                    self._say(
                        f"Utskick {dispatch_id}: {progress.queued} mottagare väntar på ett nytt "
                        f"försök, nästa kl. {timezone.localtime(due):%H:%M:%S}."
                    )
                else:
                    report = broker_report()
                    self._say(stall_text(report, seconds=now - moved_at, dispatch_id=dispatch_id))
            self._pause(POLL_SECONDS)
        self._draw(progress)
        if self.interactive:
            self.stdout.write("")
        self.stdout.write(summary_text(progress))
        if progress.reason:
            self.stdout.write(progress.reason)
        return progress


def watch_exit_status(progress: DispatchProgress) -> int:
    """0 only when everyone planned was reached: paused, cancelled or failures give 1."""
    return 0 if progress.status == DispatchStatus.DONE and not progress.failed else 1


def watch_arguments_add(parser) -> None:
    """The options of every command that watches a dispatch."""
    parser.add_argument(
        "--stall-seconds",
        type=_positive_seconds,
        default=STALL_SECONDS_DEFAULT,
        metavar="S",
        help="Varna när inget har hänt på så här många sekunder (30).",
    )
    parser.add_argument(
        "--interval",
        type=_positive_seconds,
        default=PLAIN_INTERVAL_DEFAULT,
        metavar="S",
        help="Sekunder mellan raderna när utdata inte går till en terminal (10).",
    )


def _positive_seconds(value: str) -> float:
    import argparse
    import math

    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} är inget antal sekunder") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise argparse.ArgumentTypeError(f"{value!r}: ange ett positivt antal sekunder")
    return seconds
