"""The pipelined floor and one lansnytt row, alternating, with the CPU split by where it went.

    .venv/bin/python bench/side_by_side.py [--rounds 3] [--workers 1] [--n 20000]

For a change to the sending pipeline, quicker than `make bench` and with more detail: each
round sends N messages with the pipelined floor (as many processes as workers, one connection
each) and then with lansnytt exactly as `make bench` runs it (bench/lansnytt_runner.py
run_pipeline: `send_issue --wait`, `celery -A worker worker --pool solo`), against the same
0 ms sink, and prints both CPU figures per message, their ratio and speed ratio, the
lansnytt CPU split into the workers' main threads (where a batch's connections run), their
other threads (the recorder, the status-and-claim thread, the heartbeat) and the database's
backends, and how long after the dispatch's creation the first message arrived. Rows of one
round compare; the machine's noise shows as the spread between rounds.
"""

import argparse
import collections
import os
import sys
import threading
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from bench.databases import database_ensure  # noqa: E402
from bench.run import (  # noqa: E402
    django_setup,
    options_parse,
    pipelined_floor_measure,
    sink_measure,
)
from bench.sink import SinkProcess  # noqa: E402

SAMPLE_SECONDS = 0.02


def _threads_sampled(meter_class):
    """A CpuMeter that also keeps each worker thread's CPU (from /proc) while it runs."""

    class ThreadMeter(meter_class):
        def __enter__(self):
            self.thread_cpu: dict[tuple[int, int], float] = {}
            self.thread_first: dict[tuple[int, int], float] = {}
            self._threads_stop = threading.Event()
            self._threads = threading.Thread(target=self._threads_sample, daemon=True)
            self._threads_sample_once(first=True)
            self._threads.start()
            return super().__enter__()

        def __exit__(self, *exc_info):
            super().__exit__(*exc_info)
            self._threads_stop.set()
            self._threads.join()
            self._threads_sample_once(first=False)

        def _threads_sample(self):
            while not self._threads_stop.wait(SAMPLE_SECONDS):
                self._threads_sample_once(first=False)

        def _threads_sample_once(self, *, first: bool):
            ticks = os.sysconf("SC_CLK_TCK")
            for pid in self.pids:
                try:
                    tids = os.listdir(f"/proc/{pid}/task")
                except OSError:
                    continue
                for tid in tids:
                    try:
                        with open(f"/proc/{pid}/task/{tid}/stat") as handle:
                            fields = handle.read().rpartition(")")[2].split()
                    except OSError:
                        continue  # the thread ended between the listing and the read
                    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
                    key = (pid, int(tid))
                    # A thread there at the start counts from then; a later one from zero.
                    self.thread_first.setdefault(key, cpu if first else 0.0)
                    self.thread_cpu[key] = cpu

        def threads_split(self) -> dict[str, float]:
            split: collections.Counter = collections.Counter()
            for (pid, tid), cpu in self.thread_cpu.items():
                kind = "main thread" if pid == tid else "other threads"
                split[kind] += cpu - self.thread_first[(pid, tid)]
            return split

    return ThreadMeter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    own, rest = parser.parse_known_args()
    options = options_parse(rest)
    sink = SinkProcess()
    try:
        database_ensure(options.database_url)
        django_setup(options, sink)
        import bench.rss as rss
        from bench import lansnytt_runner as runner
        from bench.content import recipient_values
        from worker.models import Dispatch

        meters = []
        meter_class = _threads_sampled(rss.CpuMeter)

        def meter(*args, **kwargs):
            meters.append(meter_class(*args, **kwargs))
            return meters[-1]

        runner.CpuMeter = meter
        runner.migrate()
        runner.prepare_data(options.n)
        recipients = recipient_values(options.n)
        for number in range(1, own.rounds + 1):
            floor = pipelined_floor_measure(sink, recipients, processes=own.workers)
            row = sink_measure(
                sink,
                options.n,
                lambda: runner.run_pipeline(workers=own.workers, n=options.n, sink=sink),
            )
            stats = sink.stats()
            created = Dispatch.objects.get().created_at.timestamp()
            sent = row["messages"]
            split = meters[-1].threads_split()
            print(
                f"round {number}: floor {floor['cpu_per_1000'] * 1000:.0f} µs/msg, "
                f"{floor['messages_per_second']:.0f}/s · lansnytt "
                f"{row['cpu_per_1000'] * 1000:.0f} µs/msg, {row['messages_per_second']:.0f}/s "
                f"· CPU ratio {row['cpu_per_1000'] / floor['cpu_per_1000']:.2f}, speed ratio "
                f"{row['messages_per_second'] / floor['messages_per_second']:.2f}",
                flush=True,
            )
            print(
                f"  lansnytt µs/msg: workers' main threads "
                f"{split['main thread'] / sent * 1e6:.0f}, "
                f"their other threads {split['other threads'] / sent * 1e6:.0f}, PostgreSQL "
                f"{row['cpu_seconds_postgres'] / sent * 1e6:.0f}; first message "
                f"{stats['first'] - created:.2f} s after the dispatch's creation",
                flush=True,
            )
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
