"""kill -9 of a worker in the middle of a dispatch (and Redis losing its queue with it);
a new worker finishes it."""

import collections

import pytest
from django.core.management import call_command

from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.workers import wait_until
from worker.models import Delivery, DeliveryStatus, Dispatch, DispatchStatus

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


@pytest.mark.parametrize("redis_lost", [False, True], ids=["worker-killed", "redis-restarted"])
def test_it_completes_after_a_kill_with_no_duplicates_and_nobody_missing(
    redis_lost, celery_workers, smtp_server, redis_purged
):
    readers = segment_make(slug="lasare")
    people = [
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers]) for n in range(120)
    ]
    issue = sendable_issue_make()
    smtp_server.hold_after = 35
    first = celery_workers.start()

    call_command("send_issue", issue.slug)
    dispatch = Dispatch.objects.get()

    # Both pool processes are waiting on RCPT with claimed rows, none between 250 and record.
    wait_until(lambda: smtp_server.held >= 2, timeout=60, message="workers never got held")
    assert Delivery.objects.filter(status=DeliveryStatus.SENDING).exists()
    celery_workers.kill(first)
    if redis_lost:
        # Redis keeps nothing on disk here: a restart loses every queued and unacknowledged
        # task. Only the database knows what is left to send.
        redis_purged.flushdb()
    smtp_server.release()
    sent_before_restart = len(smtp_server.recipients())
    assert 35 <= sent_before_restart < len(people)

    celery_workers.start()

    wait_until(
        lambda: Dispatch.objects.get(pk=dispatch.pk).status == DispatchStatus.DONE,
        timeout=90,
        message="dispatch did not complete after the restart",
    )
    counts = collections.Counter(smtp_server.recipients())
    duplicates = [address for address, count in counts.items() if count > 1]
    missing = {person.email for person in people} - set(counts)
    assert duplicates == []
    assert missing == set()
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == len(people)
