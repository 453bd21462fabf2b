"""Real parts for the sending pipeline: an SMTP server on loopback and Celery worker processes.

The SMTP sink is aiosmtpd in a thread; it records every message it accepts and can be told to
answer some recipients with a 4xx once, or a 5xx always, or to be slow.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

BASE_DIR = Path(__file__).resolve().parents[2]


class RecordingHandler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[tuple[str, bytes]] = []
        self.fail_once: dict[str, str] = {}  # address → 4xx reply, used up on first try
        self.fail_always: dict[str, str] = {}  # address → 5xx reply
        self.delay = 0.0
        self.attempts: dict[str, int] = {}
        # Once this many messages are accepted, RCPT waits until `release()`: the test then
        # knows every worker is mid-conversation and nothing is between 250 and its record.
        self.hold_after: int | None = None
        self.held = 0

    def release(self) -> None:
        self.hold_after = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # Advertise PIPELINING, as production mail servers do, so that the worker's
        # pipelined path is the one under test (aiosmtpd reads pipelined commands in order).
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        import asyncio

        if self.delay:
            await asyncio.sleep(self.delay)
        if self.hold_after is not None and len(self.messages) >= self.hold_after:
            self.held += 1
            while self.hold_after is not None:
                await asyncio.sleep(0.01)
            self.held -= 1
        with self.lock:
            self.attempts[address] = self.attempts.get(address, 0) + 1
            if address in self.fail_always:
                return self.fail_always[address]
            if address in self.fail_once:
                return self.fail_once.pop(address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            for address in envelope.rcpt_tos:
                self.messages.append((address, envelope.original_content))
        return f"250 OK queued as q{len(self.messages)}"

    def recipients(self) -> list[str]:
        with self.lock:
            return [address for address, _ in self.messages]

    def parsed(self, address: str):
        with self.lock:
            raw = [content for to, content in self.messages if to == address]
        return [message_from_bytes(content, policy=policy.default) for content in raw]


@pytest.fixture
def smtp_sink():
    handler = RecordingHandler()
    # aiosmtpd's Controller checks readiness by connecting to the port it was given, so it
    # needs a real one: ask the kernel for a free port first.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.url = f"smtp://127.0.0.1:{port}"
    handler.port = port
    yield handler
    controller.stop()


@pytest.fixture
def redis_purged():
    import redis
    from django.conf import settings

    if not settings.REDIS_URL:
        pytest.skip("the pipeline tests need REDIS_URL (a Redis broker)")
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


def _database_url() -> str:
    from django.conf import settings

    database = settings.DATABASES["default"]
    user = database.get("USER") or "postgres"
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    host = database.get("HOST") or "127.0.0.1"
    port = database.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{database['NAME']}"


class WorkerProcesses:
    """Starts `celery -A worker worker` (with embedded beat) against the test database."""

    def __init__(self, *, smtp_url: str, redis_url: str, log_dir: Path) -> None:
        self.smtp_url = smtp_url
        self.redis_url = redis_url
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []

    def start(self, **extra_env: str) -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "lansnytt.settings",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": self.redis_url,
            "EMAIL_URL": self.smtp_url,
            "SEND_BATCH_SIZE": "10",
            "SEND_STATUS_CHECK_EVERY": "4",
            "SEND_PARALLEL_BATCHES": "4",
            "DELIVERY_CLAIM_SECONDS": "3",
            "DELIVERY_RETRY_BASE_SECONDS": "1",
            "SWEEP_INTERVAL_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
            **extra_env,
        }
        env.pop("TEST_DATABASE_NAME", None)
        number = len(self.processes)
        log = open(self.log_dir / f"celery-worker-{number}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "worker",
                "worker",
                "--beat",
                "--schedule",
                str(self.log_dir / f"celerybeat-schedule-{number}-{os.getpid()}"),
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                os.environ.get("TEST_CELERY_LOGLEVEL", "WARNING"),
                "--hostname",
                f"test{number}-{os.getpid()}@%h",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill -9 reaches the children
        )
        self.processes.append(process)
        return process

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


@pytest.fixture
def celery_workers(smtp_sink, redis_purged, artefacts_dir):
    from django.conf import settings

    workers = WorkerProcesses(
        smtp_url=smtp_sink.url, redis_url=settings.REDIS_URL, log_dir=artefacts_dir
    )
    yield workers
    workers.stop_all()


def wait_until(condition, *, timeout: float = 60, interval: float = 0.2, message: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s: {message}")
