"""Self-service sends its mail from Celery tasks after commit.

By default these tests run the tasks in-process, as the embedded default (no REDIS_URL)
does; a test that wants the real thing asks for `celery_workers` and `tasks_on_broker`.
The test's own transaction never commits, so `links.committed()` runs what the code left
for after its commit (pytest-django's on-commit capture).
"""

import pytest

from tests.workers import celery_workers, redis_purged  # noqa: F401
from worker.celery import app


@pytest.fixture(autouse=True)
def tasks_in_process():
    # The Celery app read its configuration once; the settings fixture cannot reach it.
    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was_eager


@pytest.fixture
def tasks_on_broker(tasks_in_process, request):
    """Tasks go to the Redis broker (purged, as a client), as in production."""
    broker = request.getfixturevalue("redis_purged")
    app.conf.task_always_eager = False
    return broker
