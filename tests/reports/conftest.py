"""The report after a real dispatch needs the sending pipeline's real parts (tests/workers.py)."""

from tests.workers import celery_workers, redis_purged  # noqa: F401
