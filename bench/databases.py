"""PostgreSQL databases the harness needs, created when missing."""

from urllib.parse import urlsplit

import psycopg
from psycopg import sql


def database_ensure(database_url: str) -> None:
    """Create the database named in the URL unless it exists (connecting to `postgres`)."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    maintenance = parts._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
