"""Servers a test starts, stops and crashes itself: a `redis-server` and a PostgreSQL cluster
of its own on spare loopback ports.

The shared Redis and PostgreSQL serve every engineer's and CI's tests at once; a fault test
that restarts them would break the others. These run as separate processes, are stopped and
started with the server's own tools (`redis-server`, `initdb`/`pg_ctl`), and are removed
with the test.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.smtp import free_port


def _wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not come up within {timeout}s")
        time.sleep(0.1)


class RedisServer:
    """`redis-server` on a spare port; `persistent` keeps the dataset on disk across a stop
    (append-only file, fsync on every write), otherwise a restart starts empty."""

    def __init__(self, directory: Path, *, persistent: bool) -> None:
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed")
        self.directory = directory
        self.persistent = persistent
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always", "--save", "60 1"]
            if self.persistent
            else ["--appendonly", "no", "--save", ""]
        )
        log = open(self.directory / f"redis-{self.starts}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--daemonize",
                "no",
                *persistence,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.starts += 1
        _wait_for(self._ping, timeout=15, what="redis-server")

    def stop(self) -> None:
        """What `systemctl stop redis` does: SIGTERM (a persistent server saves first)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def queued_tasks(self) -> int:
        import redis

        return redis.Redis(port=self.port).llen("celery")


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are: /usr/local/bin here, Debian's versioned directory on a
    machine that installed the postgresql package (CI)."""
    for candidate in ["/usr/local/bin", *sorted(glob.glob("/usr/lib/postgresql/*/bin"))[::-1]]:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            # /usr/local/bin holds links to the server's own directory, which has pg_dump too.
            return (Path(candidate) / "initdb").resolve().parent
    return None


class PostgresCluster:
    """A PostgreSQL cluster made with initdb in a temporary directory, on a spare port.

    initdb and the server refuse to run as root, so as root they run as the `postgres`
    user (runuser), which then owns the data directory. The server keeps PostgreSQL's
    defaults that matter for a crash: fsync on, synchronous_commit on, wal_writer_delay 200 ms.
    """

    def __init__(self) -> None:
        bindir = postgres_bindir()
        if bindir is None:
            pytest.skip("initdb/pg_ctl are not installed")
        self.bindir = bindir
        self.port = free_port()
        # Not under pytest's tmp_path: the postgres user must be able to reach it.
        self.root = Path(tempfile.mkdtemp(prefix="lansnytt-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")

    def url(self, database: str = "lansnytt") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.as_user, *command],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )

    def _pg_ctl(self, *args: str) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), *args)

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        # Loopback only, and the socket in the cluster's own directory.
        self._options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}"
        self.start()

    def start(self) -> None:
        self._pg_ctl("-w", "-t", "60", "-l", str(self.log), "-o", self._options, "start")

    def crash_restart(self) -> float:
        """`pg_ctl restart -m immediate`: the server stops without a checkpoint, as in a
        crash, and recovers from the WAL when it starts. Returns the seconds it was away."""
        started = time.monotonic()
        self._pg_ctl(
            "-w", "-t", "60", "-l", str(self.log), "-o", self._options, "-m", "immediate", "restart"
        )
        return time.monotonic() - started

    def stop(self) -> None:
        try:
            self._pg_ctl("-w", "-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass  # not running

    def copy_database(self, source_url: str, *, name: str = "lansnytt") -> None:
        """The migrated test database (schema, migration history, data) copied in whole."""
        self._run(
            str(self.bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            name,
        )
        dump = subprocess.run(
            [str(self.bindir / "pg_dump"), "--no-owner", "--no-privileges", source_url],
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            [str(self.bindir / "psql"), "-q", "-v", "ON_ERROR_STOP=1", self.url(name)],
            input=dump.stdout,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def postgres_cluster():
    cluster = PostgresCluster()
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.remove()
