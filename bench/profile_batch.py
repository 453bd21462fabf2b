"""Profile one worker's per-message CPU with pyinstrument, against the 0 ms sink.

    .venv/bin/python bench/profile_batch.py [--n 5000] [--html var/bench/profile.html]

Builds N bench subscribers (bench/lansnytt_runner.py, the bench database), plans a dispatch
and runs its batches in this process, as a worker would, under pyinstrument; prints the
profile and the CPU seconds per message. The issue is rendered before profiling starts, so
the profile shows the per-message path only.
"""

import argparse
import atexit
import collections
import cProfile
import pstats
import re
import resource
import sys
import threading
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from bench.databases import database_ensure  # noqa: E402
from bench.run import django_setup, options_parse  # noqa: E402
from bench.sink import SinkProcess  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--html", type=Path, default=None)
    parser.add_argument("--no-profile", action="store_true", help="only the CPU per message")
    parser.add_argument(
        "--cprofile",
        action="store_true",
        help="also cProfile the sending thread (deterministic: every call, by own time)",
    )
    parser.add_argument("--relay-ms", type=float, default=0, help="the sink's reply delay (0)")
    parser.add_argument(
        "--cprofile-thread",
        default="",
        help="cProfile the threads whose name starts with this instead (delivery-recorder, …)",
    )
    own, rest = parser.parse_known_args()
    options = options_parse(rest)
    sink = SinkProcess(relay_ms=own.relay_ms)
    try:
        database_ensure(options.database_url)
        django_setup(options, sink)
        from pyinstrument import Profiler

        from bench import lansnytt_runner as runner
        from newsletter.models import Issue
        from newsletter.rendering import issue_render
        from subscribers.models import Segment
        from worker.models import Delivery, Dispatch, DispatchStatus
        from worker.planning import dispatch_plan
        from worker.sending import delivery_batch_send

        runner.migrate()
        runner.prepare_data(own.n)
        runner._truncate(Delivery._meta.db_table, Dispatch._meta.db_table)
        issue = Issue.objects.get(slug=runner.ISSUE_SLUG)
        issue_render(issue=issue, language=issue.language)
        dispatch = Dispatch.objects.create(issue=issue, status=DispatchStatus.SENDING)
        dispatch.segments.set([Segment.objects.get(slug=runner.SEGMENT_SLUG)])
        dispatch_plan(dispatch=dispatch)
        Dispatch.objects.filter(pk=dispatch.pk).update(status=DispatchStatus.SENDING)
        sink.reset()
        threads_cpu = _threads_cpu_counted(profiled=own.cprofile_thread)
        profiler = Profiler(interval=0.0005)
        print(f"sending {own.n} messages", file=sys.stderr)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        server_cpu = _postgresql_cpu_seconds()
        began, cpu = time.monotonic(), time.process_time()
        main_thread_cpu = time.thread_time()
        if not own.no_profile:
            profiler.start()
        if own.cprofile:
            deterministic = cProfile.Profile()
            deterministic.enable()
        while True:
            batch_began = time.monotonic()
            result = delivery_batch_send(dispatch_id=dispatch.pk)
            if not result.claimed:
                break
            print(
                f"batch: {result.sent} sent over {result.connections} connections in "
                f"{time.monotonic() - batch_began:.2f} s",
                file=sys.stderr,
            )
        if not own.no_profile:
            profiler.stop()
        if own.cprofile:
            deterministic.disable()
            pstats.Stats(deterministic).sort_stats("tottime").print_stats(45)
        seconds, cpu = time.monotonic() - began, time.process_time() - cpu
        threads_cpu["main thread"] += time.thread_time() - main_thread_cpu
        server_cpu = _postgresql_cpu_seconds() - server_cpu
        after = resource.getrusage(resource.RUSAGE_SELF)
        sent = sink.stats()["messages"]
        if not own.no_profile:
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        if own.html and not own.no_profile:
            own.html.parent.mkdir(parents=True, exist_ok=True)
            own.html.write_text(profiler.output_html())
        print(
            f"{sent} messages in {seconds:.2f} s ({sent / seconds:.0f}/s); this process "
            f"{cpu / sent * 1e6:.0f} µs CPU per message (all its threads: user "
            f"{(after.ru_utime - usage.ru_utime) / sent * 1e6:.0f}, system "
            f"{(after.ru_stime - usage.ru_stime) / sent * 1e6:.0f}; context switches per message: "
            f"{(after.ru_nvcsw - usage.ru_nvcsw) / sent:.2f} voluntary, "
            f"{(after.ru_nivcsw - usage.ru_nivcsw) / sent:.2f} involuntary); PostgreSQL "
            f"{server_cpu / sent * 1e6:.0f} µs (all the server's processes, whoever they "
            "work for: run it on a quiet machine)"
        )
        print(
            "by thread, µs CPU per message: "
            + ", ".join(
                f"{name} {seconds / sent * 1e6:.1f}" for name, seconds in threads_cpu.items()
            )
        )
    finally:
        sink.stop()


def _threads_cpu_counted(*, profiled: str = "") -> collections.Counter:
    """CPU seconds of every thread started from now on, by name (numbers dropped: the
    batches' recorder, status and heartbeat threads), counted when each ends; the threads
    whose name starts with `profiled` run under cProfile, whose stats are printed at exit."""
    counted: collections.Counter = collections.Counter()
    run = threading.Thread.run
    stats: list[pstats.Stats] = []

    def run_counted(thread):
        deterministic = None
        if profiled and thread.name.startswith(profiled):
            # By the thread's own CPU, not the clock: these threads mostly wait.
            deterministic = cProfile.Profile(time.thread_time)
            deterministic.enable()
        try:
            run(thread)
        finally:
            counted[re.sub(r"[-_]?[0-9]+$", "", thread.name)] += time.thread_time()
            if deterministic is not None:
                deterministic.disable()
                if stats:
                    stats[0].add(deterministic)
                else:
                    stats.append(pstats.Stats(deterministic))

    def stats_print():
        if stats:
            stats[0].sort_stats("tottime").print_stats(40)

    atexit.register(stats_print)
    threading.Thread.run = run_counted
    return counted


def _postgresql_cpu_seconds() -> float:
    """User + system CPU of every PostgreSQL process on this machine, the WAL writer and
    checkpointer included, and of those that ended (a backend ends with its connection:
    the postmaster's children times hold them). The bench proper counts only the bench
    database's backends."""
    import psutil

    total = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        times = process.info["cpu_times"]
        if process.info["name"] in ("postgres", "postmaster") and times:
            total += times.user + times.system + times.children_user + times.children_system
    return total


if __name__ == "__main__":
    main()
