"""The sweeper: takes back expired claims and restarts only dispatches with no batch at work."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import segment_make, sendable_issue_make, subscriber_make
from worker.models import Delivery, DeliveryStatus, Dispatch, DispatchStatus
from worker.services import deliveries_sweep

pytestmark = pytest.mark.django_db


def _sending_dispatch_with(*statuses: str) -> list[Delivery]:
    segment = segment_make(slug="lasare")
    issue = sendable_issue_make()
    dispatch = Dispatch.objects.create(issue=issue, status=DispatchStatus.SENDING)
    rows = []
    for number, status in enumerate(statuses):
        subscriber = subscriber_make(email=f"lasare{number}@example.se", segments=[segment])
        rows.append(
            Delivery.objects.create(
                dispatch=dispatch,
                issue=issue,
                subscriber=subscriber,
                email=subscriber.email,
                status=status,
                attempts=1 if status == DeliveryStatus.SENDING else 0,
                claimed_until=timezone.now() + timedelta(minutes=5)
                if status == DeliveryStatus.SENDING
                else None,
            )
        )
    return rows


def test_it_leaves_a_dispatch_alone_while_one_of_its_batches_is_at_work(redis_purged):
    _sending_dispatch_with(DeliveryStatus.SENDING, DeliveryStatus.QUEUED)

    result = deliveries_sweep()

    assert (result.requeued, result.dispatches_nudged) == (0, 0)
    assert redis_purged.llen("celery") == 0


def test_it_takes_back_an_expired_claim_and_restarts_the_dispatch(redis_purged):
    claimed, _queued = _sending_dispatch_with(DeliveryStatus.SENDING, DeliveryStatus.QUEUED)
    Delivery.objects.filter(pk=claimed.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )

    result = deliveries_sweep()

    assert (result.requeued, result.dispatches_nudged) == (1, 1)
    claimed.refresh_from_db()
    assert claimed.status == DeliveryStatus.QUEUED and claimed.claimed_until is None
    assert redis_purged.llen("celery") == 1
