"""Erasing a subscriber also clears the address the sending pipeline kept for them."""

import pytest
from django.utils import timezone

from subscribers.models import ConsentSource
from subscribers.privacy import subscriber_erase
from subscribers.services import RequestOrigin
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from worker.models import Delivery, DeliveryStatus, Dispatch

pytestmark = pytest.mark.django_db


def test_it_clears_the_address_on_the_erased_persons_deliveries_and_keeps_the_rows():
    segment = segment_make(slug="lasare")
    erased = subscriber_make(email="karin.lind@example.se", segments=[segment])
    kept = subscriber_make(email="olle.berg@example.se", segments=[segment])
    issue = sendable_issue_make()
    dispatch = Dispatch.objects.create(issue=issue)
    for subscriber in (erased, kept):
        Delivery.objects.create(
            dispatch=dispatch,
            issue=issue,
            subscriber=subscriber,
            email=subscriber.email,
            status=DeliveryStatus.SENT,
            smtp_reply=f"250 2.0.0 Ok: queued for <{subscriber.email}>",
            sent_at=timezone.now(),
        )

    subscriber_erase(subscriber=erased, origin=RequestOrigin(), source=ConsentSource.WEB)

    rows = {row.subscriber_id: row for row in Delivery.objects.all()}
    assert len(rows) == 2
    assert "karin.lind" not in rows[erased.pk].email + rows[erased.pk].smtp_reply
    assert rows[erased.pk].status == DeliveryStatus.SENT
    assert rows[kept.pk].email == "olle.berg@example.se"
