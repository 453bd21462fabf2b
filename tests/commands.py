"""Running `manage.py` as a real process, the way operators and scripts do.

Exit statuses and stderr are what scripts see, so the commands' tests check them on a real
process; these helpers build the environments those processes get.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What the process must not inherit from the test run for each kind of environment.
SERVICE_VARIABLES = {"DATABASE_URL", "REDIS_URL", "EMAIL_URL", "SECRET_KEY"}


def manage_run(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def testdb_url() -> str:
    """The test database as a DATABASE_URL, for processes that must see committed test data."""
    from django.db import connection

    database = connection.settings_dict
    user = database.get("USER") or "postgres"
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    host = database.get("HOST") or "127.0.0.1"
    port = database.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{database['NAME']}"


def testdb_env() -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": testdb_url()}


def embedded_default_env(var_dir: Path) -> dict[str, str]:
    """A fresh machine with no configuration: SQLite under `var_dir`, no Redis, no SMTP."""
    env = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    env.update(VAR_DIR=str(var_dir), DEBUG="true")
    return env
