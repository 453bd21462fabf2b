"""Real Celery worker processes for the external link check (tests/workers.py)."""

from tests.workers import celery_workers, redis_purged  # noqa: F401
