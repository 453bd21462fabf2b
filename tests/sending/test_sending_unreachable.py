"""A mail server that cannot be reached: the batch gives its rows back and the next one waits."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.smtp import free_port
from worker.batches import delivery_batch_run
from worker.models import Delivery, DeliveryStatus
from worker.services import dispatch_create

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_gives_back_the_batch_and_schedules_the_next_one_later(
    settings, redis_purged, monkeypatch
):
    from worker import services

    monkeypatch.setattr(services, "_enqueue_start", lambda dispatch_id: None)
    settings.EMAIL_URL = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    settings.SEND_TRANSPORT_RETRY_SECONDS = 30
    segment = segment_make(slug="lasare")
    for number in range(10):
        subscriber_make(email=f"lasare{number}@example.se", segments=[segment])
    dispatch = dispatch_create(issue=sendable_issue_make(), segment_slugs=["lasare"])

    result = delivery_batch_run(dispatch_id=dispatch.pk)

    assert result.transport_down and result.sent == 0
    rows = Delivery.objects.filter(dispatch=dispatch)
    assert rows.filter(status=DeliveryStatus.QUEUED).count() == 10
    # No message reached a server, so no row was charged an attempt: a long outage must not
    # use up the attempts of recipients who were never offered the message.
    assert sorted(rows.values_list("attempts", flat=True)) == [0] * 10
    # Nor may the sweeper start batches against the dead server before the retry is due.
    assert not rows.filter(next_attempt_at__lt=timezone.now() + timedelta(seconds=25)).exists()
    [queued] = redis_purged.lrange("celery", 0, -1)
    headers = json.loads(queued)["headers"]
    assert headers["task"] == "worker.tasks.delivery_batch_send_task"
    assert headers["eta"] is not None
