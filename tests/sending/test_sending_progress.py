"""Watching a dispatch: sent / total, failures, rate and time left from one selector, in the
commands (a bar on a terminal, plain lines otherwise) and on the admin page; and `--wait`
saying which broker it looked at and what to start when no worker consumes the queue.

The commands run as real processes against the test database and the real Redis broker, so
what they print is what an operator's terminal or a cron log gets.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.commands import ROOT, manage_run, testdb_env
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.smtp import free_port
from worker.models import Delivery, DeliveryStatus, Dispatch
from worker.selectors import PROGRESS_RATE_WINDOW_SECONDS, dispatch_progress

# Anything a terminal would interpret: carriage return, escape sequences, backspace, bell.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _readers(count: int) -> None:
    readers = segment_make(slug="lasare")
    for n in range(count):
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers])


def _dispatch_waiting_in_redis(count: int = 3) -> Dispatch:
    _readers(count)
    call_command("send_issue", sendable_issue_make().slug)  # no worker: its tasks wait
    return Dispatch.objects.get()


class Watcher:
    """A `manage.py` process whose stdout and stderr are read as they come."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(stream, into), daemon=True)
            for stream, into in (
                (self.process.stdout, self.stdout),
                (self.process.stderr, self.stderr),
            )
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    def wait_for_stderr(self, text: str, *, timeout: float) -> float:
        """Seconds until `text` appeared on stderr."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if text in "".join(self.stderr):
                return time.monotonic() - began
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; stderr: {''.join(self.stderr)!r}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for reader in self._readers:
            reader.join(timeout=5)


@pytest.mark.django_db
def test_it_measures_the_rate_over_the_last_minute_and_estimates_the_time_left():
    _readers(100)
    call_command("send_issue", sendable_issue_make().slug)
    dispatch = Dispatch.objects.get()
    now = timezone.now()
    Dispatch.objects.filter(pk=dispatch.pk).update(started_at=now - timedelta(minutes=5))
    rows = list(Delivery.objects.filter(dispatch=dispatch).order_by("id"))
    # 20 sent long ago (outside the window), 30 sent and 6 failed within the last minute.
    for row in rows[:20]:
        row.status, row.finished_at = DeliveryStatus.SENT, now - timedelta(minutes=4)
    for row in rows[20:50]:
        row.status, row.finished_at = DeliveryStatus.SENT, now - timedelta(seconds=30)
    for row in rows[50:56]:
        row.status, row.finished_at = DeliveryStatus.FAILED, now - timedelta(seconds=10)
    for row in rows[56:60]:
        row.status = DeliveryStatus.SKIPPED
    Delivery.objects.bulk_update(rows, ["status", "finished_at"])

    progress = dispatch_progress(dispatch_id=dispatch.pk)

    assert (progress.sent, progress.failed, progress.skipped, progress.total) == (50, 6, 4, 100)
    assert progress.remaining == 40
    assert progress.rate_seconds == PROGRESS_RATE_WINDOW_SECONDS
    assert progress.rate_per_second == pytest.approx(36 / 60)
    assert progress.eta_seconds == pytest.approx(40 / (36 / 60))


@pytest.mark.django_db
def test_it_gives_the_rate_and_time_left_in_english_too():
    from django.utils import translation

    from worker.progress_text import progress_texts

    _readers(10)
    call_command("send_issue", sendable_issue_make().slug)
    dispatch = Dispatch.objects.get()
    Dispatch.objects.filter(pk=dispatch.pk).update(started_at=timezone.now() - timedelta(minutes=2))
    rows = list(Delivery.objects.filter(dispatch=dispatch).order_by("id")[:6])
    for row in rows:
        row.status, row.finished_at = DeliveryStatus.SENT, timezone.now()
    Delivery.objects.bulk_update(rows, ["status", "finished_at"])

    with translation.override("en"):
        texts = progress_texts(dispatch_progress(dispatch_id=dispatch.pk))

    assert texts["rate_display"] == "0.1 messages/s (6 per minute)"
    assert texts["eta_display"] == "about 40 s"
    assert "6/10 sent, 0 failed, 0 skipped, 4 left" in texts["announcement"]


@pytest.mark.django_db
def test_it_knows_no_time_left_when_nothing_was_sent_in_the_last_minute():
    dispatch = _dispatch_waiting_in_redis(3)
    Dispatch.objects.filter(pk=dispatch.pk).update(
        started_at=timezone.now() - timedelta(minutes=10)
    )

    progress = dispatch_progress(dispatch=dispatch)

    assert progress.rate_per_second == 0
    assert progress.eta_seconds is None
    assert progress.remaining == 3


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_says_after_30_seconds_that_no_worker_consumes_the_queue(redis_purged):
    """At the default threshold: the operator's first experience of a missing worker."""
    from django.conf import settings

    _readers(3)
    watcher = Watcher("send_issue", sendable_issue_make().slug, "--wait", env=testdb_env())
    try:
        seconds = watcher.wait_for_stderr("VARNING", timeout=120)
        time.sleep(3)  # the whole message
    finally:
        watcher.stop()
    warning = "".join(watcher.stderr)
    print(f"warning after {seconds:.1f} s:\n{warning}")
    assert 28 <= seconds <= 60
    assert settings.REDIS_URL in warning  # no password in the test URL: printed as is
    assert "Ingen arbetare verkar ta emot kön" in warning
    assert "ingen svarade på ping" in warning
    assert "celery -A worker worker" in warning
    assert "exakt en schemaläggare" in warning and "celery -A worker beat" in warning
    assert "uppgifter väntar i kön 'celery'" in warning


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_follows_a_dispatch_and_counts_the_tasks_nobody_takes(redis_purged):
    dispatch = _dispatch_waiting_in_redis()
    watcher = Watcher(
        "dispatch_status", str(dispatch.pk), "--follow", "--stall-seconds", "2", env=testdb_env()
    )
    try:
        watcher.wait_for_stderr("celery -A worker beat", timeout=60)
    finally:
        watcher.stop()
    warning = "".join(watcher.stderr)
    queued = redis_purged.llen("celery")
    print(f"tasks in the queue: {queued}\n{warning}")
    assert queued >= 1
    assert f"{queued} uppgifter väntar i kön 'celery'" in warning
    assert "0/3 skickade" in "".join(watcher.stdout)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_never_prints_the_broker_password_even_when_the_broker_is_unreachable():
    dispatch = _dispatch_waiting_in_redis()
    port = free_port()  # nothing listens there
    env = {**testdb_env(), "REDIS_URL": f"redis://:hemligt-losenord@127.0.0.1:{port}/6"}
    watcher = Watcher(
        "dispatch_status", str(dispatch.pk), "--wait", "--stall-seconds", "1", env=env
    )
    try:
        watcher.wait_for_stderr("går inte att nå", timeout=60)
        time.sleep(1)
    finally:
        watcher.stop()
    output = "".join(watcher.stdout + watcher.stderr)
    print(output)
    assert f"redis://:**@127.0.0.1:{port}/6" in output
    assert "hemligt-losenord" not in output
    assert "celery -A worker worker" in output


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_prints_plain_progress_lines_and_a_summary_with_a_worker(celery_workers, smtp_server):
    _readers(60)
    smtp_server.delay = 0.15  # about 9 s of sending, so there is progress to report
    celery_workers.start()

    result = manage_run(
        "send_issue", sendable_issue_make().slug, "--wait", "--interval", "1", env=testdb_env()
    )

    print(result.stdout, result.stderr)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    progress_lines = [line for line in lines if line.startswith("[")]
    assert len(progress_lines) >= 3
    assert any("brev/s" in line and "kvar: ca " in line for line in progress_lines)
    assert progress_lines[-1].startswith("[" + "#" * 24 + "] 100%")
    assert lines[-1].startswith(
        "Klart: 60 skickade, 0 misslyckade, 0 överhoppade, 0 avbrutna av 60"
    )
    assert "brev/s" in lines[-1]
    assert not CONTROL_CHARACTERS.search(result.stdout + result.stderr)
    assert "VARNING" not in result.stderr


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_redraws_one_line_with_a_bar_on_a_terminal(celery_workers, smtp_server):
    _readers(20)
    smtp_server.delay = 0.1
    celery_workers.start()
    controller, terminal = pty.openpty()
    # A narrow terminal: a line wider than it would wrap, and "\r" could not redraw it.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "manage.py", "send_issue", sendable_issue_make().slug, "--wait"],
        cwd=ROOT,
        env=testdb_env(),
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    output = b""
    try:
        while True:
            ready, _, _ = select.select([controller], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the process closed its end
                break
            if not chunk:
                break
            output += chunk
    finally:
        process.wait(timeout=60)
        os.close(controller)
    text = output.decode()
    print(repr(text[-400:]))
    assert process.returncode == 0
    assert text.count("\r[") >= 2  # the bar redrawn in place
    redrawn = [part for part in text.split("\r") if part.startswith("[")]
    assert all(len(part) <= 59 for part in redrawn), max(redrawn, key=len)
    assert "Klart: 20 skickade" in text


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_names_the_workers_that_answer_when_they_send_nothing(celery_workers, smtp_server):
    _readers(5)
    smtp_server.hold_after = 0  # every conversation waits at RCPT: workers busy, nothing sent
    celery_workers.start()
    watcher = Watcher(
        "send_issue",
        sendable_issue_make().slug,
        "--wait",
        "--stall-seconds",
        "3",
        env=testdb_env(),
    )
    try:
        watcher.wait_for_stderr("De skickar ändå inget", timeout=90)
        smtp_server.release()
        watcher.process.wait(timeout=90)
    finally:
        smtp_server.release()
        watcher.stop()
    warning = "".join(watcher.stderr)
    print(warning)
    # The ping is answered by the worker's main process while its pool is held at RCPT.
    assert f"test0-{os.getpid()}@" in warning
    assert "Ingen arbetare" not in warning
    assert "kommer framåt igen" in warning
    assert watcher.process.returncode == 0
    assert "Klart: 5 skickade" in "".join(watcher.stdout)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_says_rows_wait_for_a_retry_instead_of_blaming_the_workers(celery_workers, smtp_server):
    from tests.workers import wait_until

    _readers(2)
    smtp_server.fail_once["lasare1@example.se"] = "451 4.7.1 Försök igen senare"
    # The retry backoff at 20 s, so the wait outlasts the 2 s threshold by far.
    celery_workers.start(DELIVERY_RETRY_BASE_SECONDS="20")
    call_command("send_issue", sendable_issue_make().slug)
    # Watch only once the first attempt is over: a worker that is slow to start on a busy
    # machine is a standstill the warning rightly reports, and not what this test is about.
    wait_until(
        lambda: (
            smtp_server.attempts.get("lasare1@example.se") == 1
            and "lasare0@example.se" in smtp_server.recipients()
            and not Delivery.objects.filter(status=DeliveryStatus.SENDING).exists()
        ),
        timeout=120,
        message="the first attempt never ended",
    )
    result = manage_run(
        "dispatch_status",
        str(Dispatch.objects.get().pk),
        "--wait",
        "--stall-seconds",
        "2",
        env=testdb_env(),
    )
    print(result.stdout, result.stderr)
    assert result.returncode == 0
    assert "1 mottagare väntar på ett nytt försök, nästa kl." in result.stderr
    assert "VARNING" not in result.stderr
    assert "Klart: 2 skickade" in result.stdout


def test_it_refuses_a_threshold_that_is_not_a_positive_number_of_seconds():
    for bad in ("0", "-5", "nan", "inf", "trettio"):
        result = manage_run(
            "dispatch_status", "1", "--wait", "--stall-seconds", bad, env=testdb_env()
        )
        assert result.returncode != 0
        assert "sekunder" in result.stderr, result.stderr


def _watching_a_waiting_dispatch() -> Watcher:
    """`dispatch_status --wait` on a dispatch no worker takes, once it has drawn its first line."""
    dispatch = _dispatch_waiting_in_redis()
    watcher = Watcher("dispatch_status", str(dispatch.pk), "--wait", env=testdb_env())
    deadline = time.monotonic() + 30
    while "0/3 skickade" not in "".join(watcher.stdout) and time.monotonic() < deadline:
        time.sleep(0.2)
    return watcher


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_keeps_watching_when_its_database_connection_is_terminated(redis_purged):
    from django.db import connection

    watcher = _watching_a_waiting_dispatch()
    try:
        with connection.cursor() as cursor:
            # No worker runs in this test: every other session on the test database is the
            # watcher's.
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            terminated = cursor.fetchone()[0]
        watcher.wait_for_stderr("Databasen svarar igen", timeout=30)
    finally:
        watcher.stop()
    print(f"terminated {terminated} session(s)\n{''.join(watcher.stderr)}")
    assert terminated >= 1
    assert "Databasen svarar inte" in "".join(watcher.stderr)
    assert watcher.process.returncode == 130  # it was still watching when stopped


def _watcher_waiting_on_a_lock(admin, deadline: float) -> bool:
    """Whether a session other than `admin` waits for a lock on the deliveries."""
    return (
        bool(
            admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            ).fetchone()[0]
        )
        or time.monotonic() > deadline
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_ends_the_watch_after_its_poll_and_a_second_at_once(redis_purged, presses):
    """One Ctrl-C lets a poll held up by a lock finish and then ends the watch (130); a
    second ends it at once, the lock still held. Never a cancelled query half-way."""
    import psycopg

    from tests.commands import testdb_url

    watcher = _watching_a_waiting_dispatch()
    try:
        with psycopg.connect(testdb_url()) as admin:
            admin.execute("LOCK TABLE worker_delivery IN ACCESS EXCLUSIVE MODE")
            deadline = time.monotonic() + 10
            while not _watcher_waiting_on_a_lock(admin, deadline):
                time.sleep(0.05)
            assert time.monotonic() <= deadline, "the watcher's poll never waited on the lock"
            for _ in range(presses):
                watcher.process.send_signal(signal.SIGINT)
                time.sleep(0.3)
            if presses == 1:
                time.sleep(1)
                assert watcher.process.poll() is None  # its poll still waits for the lock
            else:
                assert watcher.process.wait(timeout=5) == 130
            admin.rollback()  # the lock goes
        assert watcher.process.wait(timeout=5) == 130
    finally:
        watcher.stop()
    assert "Slutade följa utskick" in "".join(watcher.stderr)


@pytest.mark.django_db(transaction=True)
def test_off_a_terminal_it_counts_the_rows_every_two_seconds_and_reads_the_status_between(
    monkeypatch,
):
    """The counts are a pass over every row of the dispatch; the status is one row. Watched at
    the defaults into a log, a dispatch that ends after five seconds is counted a few times,
    not at every poll, and its end is still seen at the next poll, with its final counts."""
    import io

    from django.core.management.base import OutputWrapper
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from worker import services
    from worker.management.commands._progress import DispatchWatch
    from worker.models import DispatchStatus
    from worker.services import dispatch_create

    monkeypatch.setattr(services, "_enqueue_start", lambda dispatch_id: None)
    _readers(3)
    dispatch = dispatch_create(issue=sendable_issue_make(), segment_slugs=["lasare"])
    ended_at: list[float] = []

    def finish_later() -> None:
        from django.db import connection as own

        try:
            time.sleep(5)
            now = timezone.now()
            Delivery.objects.filter(dispatch=dispatch).update(
                status=DeliveryStatus.SENT, sent_at=now, finished_at=now
            )
            Dispatch.objects.filter(pk=dispatch.pk).update(
                status=DispatchStatus.DONE, finished_at=now
            )
            ended_at.append(time.monotonic())
        finally:
            own.close()

    log = io.StringIO()
    watch = DispatchWatch(stdout=OutputWrapper(log), stderr=OutputWrapper(io.StringIO()))
    finisher = threading.Thread(target=finish_later)
    finisher.start()
    with CaptureQueriesContext(connection) as queries:
        progress = watch.run(dispatch_id=dispatch.pk)
    watched_until = time.monotonic()
    finisher.join()

    statements = [query["sql"] for query in queries.captured_queries]
    counts = [sql for sql in statements if "COUNT(" in sql and "worker_delivery" in sql]
    status_read = 'SELECT "worker_dispatch"."status"'
    status_reads = [sql for sql in statements if sql.startswith(status_read)]
    print(f"{len(counts)} counts, {len(status_reads)} status reads")
    # At 0, 2 and 4 s and once more on the end; one poll every 0.5 s reads the status.
    assert 2 <= len(counts) <= 5
    assert len(status_reads) >= 2 * len(counts)
    assert watched_until - ended_at[0] < 2  # the end seen at the next poll, not a count later
    assert progress.status == DispatchStatus.DONE and progress.sent == 3
    assert "Klart: 3 skickade" in log.getvalue()
