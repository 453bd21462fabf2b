"""SEND_PARALLEL_BATCHES holds however quickly a dispatch is paused and resumed.

A resume starts a new fan-out of batch tasks while the old batches may still be finishing and
their successors may still wait in the broker. Counted from the outside: each batch sends
over one connection here (a batch of 10 rows opens one, ROWS_PER_CONNECTION_AT_LEAST), so the
conversations the SMTP server holds at once are the batches at work at once.
"""

import collections
import random
import time

import pytest

from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.workers import wait_until
from worker.models import Dispatch, DispatchStatus
from worker.services import dispatch_create, dispatch_pause, dispatch_resume

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PARALLEL_BATCHES = 4  # SEND_PARALLEL_BATCHES of the test workers (tests/workers.py)
PROCESSES = 2 * 6  # two workers with six pool processes each: room for three times as many


def _status(dispatch) -> str:
    return Dispatch.objects.values_list("status", flat=True).get(pk=dispatch.pk)


def test_pausing_and_resuming_quickly_never_puts_more_batches_to_work(celery_workers, smtp_server):
    readers = segment_make(slug="lasare")
    for n in range(600):
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers])
    issue = sendable_issue_make()
    smtp_server.delay = 0.01  # each message takes a while, so batches overlap the toggling
    celery_workers.start(concurrency=PROCESSES // 2)
    celery_workers.start(concurrency=PROCESSES // 2, embedded_beat=False)
    dispatch = dispatch_create(issue=issue, segment_slugs=["lasare"])
    wait_until(lambda: len(smtp_server.recipients()) >= 40, message="sending never started")

    shaker = random.Random(19)
    rounds = 0
    while rounds < 25 and _status(dispatch) == DispatchStatus.SENDING:
        dispatch_pause(dispatch=dispatch)
        time.sleep(shaker.uniform(0, 0.3))
        dispatch_resume(dispatch=dispatch)
        time.sleep(shaker.uniform(0, 0.4))
        rounds += 1

    wait_until(
        lambda: _status(dispatch) == DispatchStatus.DONE, timeout=180, message="never finished"
    )
    counts = collections.Counter(smtp_server.recipients())
    print(
        f"{rounds} pause/resume rounds; at most {smtp_server.max_open_connections} "
        f"conversations at once; {len(counts)} recipients, "
        f"{sum(counts.values()) - len(counts)} copies too many"
    )
    assert rounds >= 10  # the dispatch was toggled while it sent, not after
    assert smtp_server.max_open_connections <= PARALLEL_BATCHES
    assert smtp_server.max_open_connections >= 2  # and it did send in parallel
    assert len(counts) == 600 and max(counts.values()) == 1
