"""Addresses with Swedish letters: IDN domains are sent, an unsendable one fails alone."""

import pytest

from tests.factories import segment_make, sendable_issue_make, subscriber_make
from worker.models import Delivery, DeliveryStatus
from worker.sending import delivery_batch_send
from worker.services import dispatch_create

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_sends_to_an_idn_domain_and_fails_only_a_non_ascii_local_part(
    smtp_server, settings, monkeypatch
):
    from worker import services

    monkeypatch.setattr(services, "_enqueue_start", lambda dispatch_id: None)
    settings.EMAIL_URL = smtp_server.url
    segment = segment_make(slug="lasare")
    idn = subscriber_make(email="anna@räksmörgås.se", segments=[segment])
    local = subscriber_make(email="åsa@example.se", segments=[segment])
    plain = subscriber_make(email="olle@example.se", segments=[segment])
    dispatch = dispatch_create(issue=sendable_issue_make(), segment_slugs=["lasare"])

    result = delivery_batch_send(dispatch_id=dispatch.pk)

    assert (result.sent, result.failed) == (2, 1)
    assert sorted(smtp_server.recipients()) == ["anna@xn--rksmrgs-5wao1o.se", "olle@example.se"]
    [message] = smtp_server.parsed("anna@xn--rksmrgs-5wao1o.se")
    assert "anna@xn--rksmrgs-5wao1o.se" in message["To"]
    statuses = {row.subscriber_id: row for row in Delivery.objects.filter(dispatch=dispatch)}
    assert statuses[idn.pk].status == statuses[plain.pk].status == DeliveryStatus.SENT
    assert statuses[local.pk].status == DeliveryStatus.FAILED
    assert "SMTPUTF8" in statuses[local.pk].last_error
