"""The peer: django-newsletter, installed from PyPI into its own virtualenv by the harness.

It gets a generated Django project (from the template in bench/peer/), its own PostgreSQL
database, the same recipients and a message of the same size, and sends through its own
`submit_newsletter` command with Django's SMTP backend to the same sink.
"""

import hashlib
import os
import shutil
import string
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.rss import PeakRss

TEMPLATE_DIR = Path(__file__).resolve().parent / "peer"
REPO_DIR = TEMPLATE_DIR.parent.parent


class Peer:
    def __init__(self, *, var_dir: Path, database_url: str) -> None:
        self.venv_dir = var_dir / "peer-venv"
        self.project_dir = var_dir / "peer-project"
        self.database_url = database_url
        self.python = self.venv_dir / "bin" / "python"

    def install(self) -> None:
        """Create the virtualenv and install the pinned requirements, once per pin set."""
        requirements = TEMPLATE_DIR / "requirements.txt"
        wanted = hashlib.sha256(requirements.read_bytes()).hexdigest()
        stamp = self.venv_dir / ".bench-requirements"
        if stamp.exists() and stamp.read_text() == wanted and self.python.exists():
            return
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(self.venv_dir)], check=True)
        subprocess.run(
            [str(self.python), "-m", "pip", "install", "--quiet", "-r", str(requirements)],
            check=True,
        )
        stamp.write_text(wanted)

    def generate(self) -> None:
        """Write the project from the template, settings filled in for this database."""
        if self.project_dir.exists():
            shutil.rmtree(self.project_dir)
        shutil.copytree(
            TEMPLATE_DIR,
            self.project_dir,
            ignore=shutil.ignore_patterns("requirements.txt", "__pycache__"),
        )
        template = self.project_dir / "peerbench" / "settings.py.template"
        parts = urlsplit(self.database_url)
        settings = string.Template(template.read_text()).substitute(
            project_dir=str(self.project_dir),
            database_name=parts.path.lstrip("/"),
            database_user=parts.username or "",
            database_host=parts.hostname or "",
            database_port=str(parts.port or ""),
        )
        (self.project_dir / "peerbench" / "settings.py").write_text(settings)
        template.unlink()

    def environment(self, **extra: str) -> dict:
        """The harness's environment minus lansnytt's own Django settings."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "EMAIL_URL", "REDIS_URL"}
        }
        return {**env, "DJANGO_SETTINGS_MODULE": "peerbench.settings", **extra}

    def manage(self, *arguments: str, **kwargs):
        return subprocess.run(
            [str(self.python), "manage.py", *arguments],
            cwd=self.project_dir,
            env=self.environment(),
            check=True,
            **kwargs,
        )

    def prepare(self, n: int) -> None:
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("peer_prepare", "--n", str(n), "--repo", str(REPO_DIR), stdout=subprocess.PIPE)

    def run(self, *, sink_port: int) -> dict:
        """Time django-newsletter's own submit command until it has sent everything; its CPU
        (the command, Django's start-up included, and its PostgreSQL backend)."""
        import resource

        from bench.rss import CpuMeter

        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        meter = CpuMeter([], database_url=self.database_url)
        meter.__enter__()
        began = time.monotonic()
        process = subprocess.Popen(
            [str(self.python), "manage.py", "submit_newsletter", "-v", "0"],
            cwd=self.project_dir,
            env=self.environment(PEER_EMAIL_PORT=str(sink_port)),
        )
        with PeakRss([process.pid]) as rss:
            process.wait()
        seconds = time.monotonic() - began
        meter.__exit__(None, None, None)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        command_cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
        if process.returncode != 0:
            raise RuntimeError(f"submit_newsletter exited with {process.returncode}")
        postgres = meter.seconds()["postgres"]
        return {
            "seconds": seconds,
            "peak_rss_mib": rss.peaks_mib(),
            "cpu_seconds": round(command_cpu + postgres, 3),
            "cpu_seconds_postgres": postgres,
        }
