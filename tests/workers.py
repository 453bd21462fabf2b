"""Real Celery worker processes for the tests (sending, the link check), their fixtures, and a
way to wait for what they do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.commands import testdb_url

BASE_DIR = Path(__file__).resolve().parents[1]


class WorkerProcesses:
    """Starts `celery -A worker worker` (with embedded beat, or a `celery -A worker beat` of
    its own as in production) against the test database or `database_url`."""

    def __init__(
        self,
        *,
        smtp_url: str,
        redis_url: str,
        log_dir: Path,
        state_dir: Path,
        database_url: str | None = None,
    ) -> None:
        self.smtp_url = smtp_url
        self.redis_url = redis_url
        self.database_url = database_url
        self.log_dir = log_dir  # worker logs are kept as test artefacts
        self.state_dir = state_dir  # beat's schedule files are not
        self.processes: list[subprocess.Popen] = []

    # Short leases and sweeps so that most crash-free tests need not wait for them.
    SHORT_TIMINGS = {"DELIVERY_CLAIM_SECONDS": "3", "SWEEP_INTERVAL_SECONDS": "1"}

    def _env(self, default_timings: bool, extra_env: dict[str, str]) -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "lansnytt.settings",
            "DATABASE_URL": self.database_url or testdb_url(),
            "REDIS_URL": self.redis_url,
            "EMAIL_URL": self.smtp_url,
            "SEND_BATCH_SIZE": "10",
            "SEND_STATUS_CHECK_EVERY": "4",
            "SEND_PARALLEL_BATCHES": "4",
            "DELIVERY_RETRY_BASE_SECONDS": "1",
            **({} if default_timings else self.SHORT_TIMINGS),
            "LOG_LEVEL": "WARNING",
            **extra_env,
        }
        if default_timings:
            for name in self.SHORT_TIMINGS:
                env.pop(name, None)  # not even from the environment the tests run in
        env.pop("TEST_DATABASE_NAME", None)
        return env

    def _spawn(self, arguments: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen:
        log = open(self.log_dir / log_name, "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "worker", *arguments],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill -9 reaches the children
        )
        self.processes.append(process)
        return process

    def start(
        self,
        *,
        default_timings: bool = False,
        embedded_beat: bool = True,
        beat: bool = True,
        concurrency: int = 2,
        **extra_env: str,
    ) -> subprocess.Popen:
        """Start a worker; `default_timings` gives it the lease and sweep a user gets, and
        without `embedded_beat` (or `beat`) it runs no beat, as on the extra machines of a
        production setup with exactly one beat in all (start one with `start_beat`)."""
        embedded_beat = embedded_beat and beat
        env = self._env(default_timings, extra_env)
        number = len(self.processes)
        beat = (
            ["--beat", "--schedule", str(self.state_dir / f"celerybeat-schedule-{number}")]
            if embedded_beat
            else []
        )
        return self._spawn(
            [
                "worker",
                *beat,
                "--concurrency",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                os.environ.get("TEST_CELERY_LOGLEVEL", "WARNING"),
                "--hostname",
                f"test{number}-{os.getpid()}@%h",
            ],
            env,
            f"celery-worker-{number}.log",
        )

    def start_beat(self, *, default_timings: bool = False, **extra_env: str) -> subprocess.Popen:
        """`celery -A worker beat`, the one scheduler of the README's production topology."""
        number = len(self.processes)
        return self._spawn(
            [
                "beat",
                "--schedule",
                str(self.state_dir / f"celerybeat-schedule-{number}"),
                "--loglevel",
                os.environ.get("TEST_CELERY_LOGLEVEL", "WARNING"),
            ],
            self._env(default_timings, extra_env),
            f"celery-beat-{number}.log",
        )

    def kill(self, process: subprocess.Popen) -> None:
        """kill -9 of the worker and its pool processes, no goodbye."""
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def wait_until(condition, *, timeout: float = 60, interval: float = 0.2, message: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s: {message}")


@pytest.fixture
def redis_purged():
    import redis
    from django.conf import settings

    if not settings.REDIS_URL:
        pytest.skip("the tests with worker processes need REDIS_URL (a Redis broker)")
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def celery_workers(smtp_server, redis_purged, artefacts_dir, tmp_path):
    from django.conf import settings

    workers = WorkerProcesses(
        smtp_url=smtp_server.url,
        redis_url=settings.REDIS_URL,
        log_dir=artefacts_dir,
        state_dir=tmp_path,
    )
    yield workers
    workers.stop_all()
