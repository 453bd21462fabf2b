"""A real Celery worker process and Redis broker for the admin import (tests/workers.py)."""

import pytest

from tests.workers import WorkerProcesses


@pytest.fixture
def import_worker(smtp_server, artefacts_dir, tmp_path):
    import redis
    from django.conf import settings

    if not settings.REDIS_URL:
        pytest.skip("the worker tests need REDIS_URL (a Redis broker)")
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.flushdb()
    workers = WorkerProcesses(
        smtp_url=smtp_server.url,
        redis_url=settings.REDIS_URL,
        log_dir=artefacts_dir,
        state_dir=tmp_path,
    )
    workers.start()
    yield workers
    workers.stop_all()
    broker.flushdb()
