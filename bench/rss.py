"""Peak resident memory of processes and their children, sampled while they work."""

import threading

import psutil


def tree_rss(pid: int) -> int:
    """Resident bytes of a process plus all its descendants (a prefork worker's children)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in processes:
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
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            for pid in self.pids:
                self.peaks[pid] = max(self.peaks[pid], tree_rss(pid))
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

    @staticmethod
    def _cpu(process: psutil.Process) -> float | None:
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        return times.user + times.system

    def _processes(self) -> list[psutil.Process]:
        processes = []
        for pid in self.pids:
            try:
                root = psutil.Process(pid)
                processes += [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        if self._connection is not None:
            rows = self._connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.database],
            ).fetchall()
            for (pid,) in rows:
                if pid in self.excluded_backends:
                    continue
                try:
                    processes.append(psutil.Process(pid))
                    self.backend_pids.add(pid)
                except psutil.NoSuchProcess:
                    pass
        return processes

    def _take(self, first: bool) -> None:
        for process in self._processes():
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
        self._take(False)
        if self._connection is not None:
            self._connection.close()

    def seconds(self) -> dict:
        # A backend can end between being listed and being read: count only what was read.
        backends = sum(
            self.last[pid] - self.start[pid] for pid in self.backend_pids if pid in self.last
        )
        total = sum(self.last[pid] - self.start[pid] for pid in self.last)
        return {"total": round(total, 3), "postgres": round(backends, 3)}
