"""The bench's instruments (bench/rss.py) count what the processes under test use: CPU of a
process and of a child it starts while the meter runs, and a peak of resident memory, with
real processes. They list the processes only now and then (LIST_EVERY_SECONDS), so these
tests also hold that nothing started in between is lost."""

import subprocess
import sys
import time

from bench.rss import LIST_EVERY_SECONDS, CpuMeter, PeakRss

SPIN = "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end: pass\n"


def _python(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code])


def test_the_cpu_meter_counts_a_process_and_a_child_it_starts_later():
    # The child starts after the meter's first listing and spins past its next one.
    child_seconds = LIST_EVERY_SECONDS + 0.8
    parent = _python(
        "import subprocess, sys, time\n"
        + SPIN.format(seconds=0.5)
        + "time.sleep(0.3)\n"
        + f"subprocess.run([sys.executable, '-c', {SPIN.format(seconds=child_seconds)!r}])\n"
    )
    try:
        with CpuMeter([parent.pid]) as meter:
            parent.wait(timeout=60)
            # The parent has ended; what the meter read of it and of its child stays counted.
    finally:
        parent.kill()
    seconds = meter.seconds()["total"]
    print(f"counted {seconds:.2f} s of CPU")
    # The parent's 0.5 s spin and the child's, less what ran between the last two readings
    # (50 ms apart) and the start-up of two interpreters.
    assert 0.5 + child_seconds - 0.3 <= seconds <= 0.5 + child_seconds + 1.5


def test_the_peak_memory_is_that_of_the_process_at_its_largest():
    process = _python("import time\nblock = bytearray(200 * 2**20)\ntime.sleep(1.5)\n")
    try:
        with PeakRss([process.pid]) as peak:
            process.wait(timeout=60)
    finally:
        process.kill()
    (mib,) = peak.peaks_mib()
    print(f"peak {mib} MiB")
    assert 200 <= mib <= 260


def test_a_process_gone_before_the_meter_starts_counts_nothing():
    process = _python("pass")
    process.wait(timeout=30)
    with CpuMeter([process.pid]) as meter:
        time.sleep(0.2)
    assert meter.seconds()["total"] == 0
