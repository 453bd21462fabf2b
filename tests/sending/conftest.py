"""Real parts for the sending pipeline: Celery worker processes (tests/workers.py) and, from
tests/smtp.py, an SMTP server on loopback that records what it accepts."""

import pytest

from tests.workers import WorkerProcesses


@pytest.fixture
def redis_purged():
    import redis
    from django.conf import settings

    if not settings.REDIS_URL:
        pytest.skip("the pipeline tests need REDIS_URL (a Redis broker)")
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def celery_workers(smtp_server, redis_purged, artefacts_dir, tmp_path):
    from django.conf import settings

    workers = WorkerProcesses(
        smtp_url=smtp_server.url,
        redis_url=settings.REDIS_URL,
        log_dir=artefacts_dir,
        state_dir=tmp_path,
    )
    yield workers
    workers.stop_all()
