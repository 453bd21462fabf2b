"""Real Celery worker processes for webhook deliveries (tests/workers.py)."""

from tests.workers import celery_workers, redis_purged  # noqa: F401
