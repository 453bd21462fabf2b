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
