"""Real parts for the sending pipeline: Celery worker processes (tests/workers.py) and, from
tests/smtp.py, an SMTP server on loopback that records what it accepts."""

from tests.workers import celery_workers, redis_purged  # noqa: F401
