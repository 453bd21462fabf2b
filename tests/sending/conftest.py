"""Real parts for the sending pipeline: Celery worker processes and a purged Redis broker
(tests/workers.py) and, from tests/smtp.py, an SMTP server on loopback that records what it
accepts; a PostgreSQL cluster of the test's own to crash (tests/servers.py)."""

from tests.servers import postgres_cluster  # noqa: F401
from tests.workers import celery_workers, redis_purged  # noqa: F401
