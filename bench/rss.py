"""Peak resident memory of processes and their children, sampled while they work."""

import threading
import time

import psutil

# How often the samplers list the processes anew (a worker's children, the database's
# backends). psutil's children() reads every process on the machine, and listing at every
# sample (50 ms) cost the harness 18 % of a core (both samplers, two workers) on the cores
# the measured pipeline runs on, during the lansnytt rows only (the floors measure
# themselves); listed every second, 2.5 %. Between listings the samplers read the processes
# they know, one small /proc read each. A process found later is counted from zero (all of
# its CPU), so only one that starts and ends within a second can be missed: the workers'
# and the command's connections last the whole row.
LIST_EVERY_SECONDS = 1.0


class ProcessTree:
    """A process and its descendants, listed again at most every LIST_EVERY_SECONDS."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._listed_at = float("-inf")
        self._processes: list[psutil.Process] = []

    def processes(self, *, list_now: bool = False) -> list[psutil.Process]:
        now = time.monotonic()
        if list_now or now - self._listed_at >= LIST_EVERY_SECONDS:
            self._listed_at = now
            try:
                root = psutil.Process(self.pid)
                self._processes = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                self._processes = []
        return self._processes

    def rss(self) -> int:
        """Resident bytes of the process plus its descendants (a prefork worker's children)."""
        total = 0
        for process in self.processes():
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total


class PeakRss:
    """Samples the tree RSS of each given pid every `interval` seconds until stopped."""

    def __init__(self, pids: list[int], *, interval: float = 0.05) -> None:
        self.pids = list(pids)
        self.peaks = dict.fromkeys(self.pids, 0)
        self.interval = interval
        self._trees = [ProcessTree(pid) for pid in self.pids]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            for tree in self._trees:
                self.peaks[tree.pid] = max(self.peaks[tree.pid], tree.rss())
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def peaks_mib(self) -> list[float]:
        return [round(self.peaks[pid] / 2**20, 1) for pid in self.pids]


class CpuMeter:
    """CPU seconds used while it runs by process trees and by one database's PostgreSQL
    backends (sampled every `interval`; a backend is counted from when it is first seen, or
    from zero if it started during the run, to its last sample)."""

    def __init__(self, pids: list[int], *, database_url: str | None = None, interval=0.05):
        self.pids = list(pids)
        self.database_url = database_url
        self.database = database_url.rsplit("/", 1)[-1] if database_url else None
        self.interval = interval
        self.start: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.backend_pids: set[int] = set()
        # Backends of the harness's own instruments (the planning poller): not the pipeline.
        self.excluded_backends: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._began = 0.0
        self._connection = None
        self._trees = [ProcessTree(pid) for pid in self.pids]
        self._backends: dict[int, psutil.Process] = {}
        self._backends_listed_at = float("-inf")

    @staticmethod
    def _cpu(process: psutil.Process) -> float | None:
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        return times.user + times.system

    def _processes(self, *, list_now: bool = False) -> list[psutil.Process]:
        processes = [
            process for tree in self._trees for process in tree.processes(list_now=list_now)
        ]
        now = time.monotonic()
        if self._connection is not None and (
            list_now or now - self._backends_listed_at >= LIST_EVERY_SECONDS
        ):
            self._backends_listed_at = now
            rows = self._connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.database],
            ).fetchall()
            for (pid,) in rows:
                if pid in self.excluded_backends or pid in self._backends:
                    continue
                try:
                    self._backends[pid] = psutil.Process(pid)
                    self.backend_pids.add(pid)
                except psutil.NoSuchProcess:
                    pass
        return processes + [
            process for pid, process in self._backends.items() if pid not in self.excluded_backends
        ]

    def _take(self, first: bool, *, list_now: bool = False) -> None:
        for process in self._processes(list_now=first or list_now):
            cpu = self._cpu(process)
            if cpu is None:
                continue
            if process.pid not in self.start:
                # Present at the start: count from now. Started later: count all of it.
                self.start[process.pid] = cpu if first else 0.0
            self.last[process.pid] = cpu

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._take(False)

    def __enter__(self) -> "CpuMeter":
        if self.database_url:
            import psycopg

            self._connection = psycopg.connect(self.database_url, autocommit=True)
        self._take(True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self._take(False, list_now=True)  # the first and the last reading list them all
        if self._connection is not None:
            self._connection.close()

    def seconds(self) -> dict:
        # A backend can end between being listed and being read: count only what was read.
        backends = sum(
            self.last[pid] - self.start[pid] for pid in self.backend_pids if pid in self.last
        )
        total = sum(self.last[pid] - self.start[pid] for pid in self.last)
        return {"total": round(total, 3), "postgres": round(backends, 3)}
