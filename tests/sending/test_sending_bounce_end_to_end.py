"""The whole loop with real parts: Celery workers send an issue to an SMTP server, the bounce
comes back to the envelope sender the server saw, lands in a real Dovecot mailbox, and the
workers' own beat polls it and keeps the address out of the next issue."""

import pytest
from django.core.management import call_command

from subscribers.models import ConsentEvent, Subscriber, SubscriberStatus, Suppression
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.mailbox import imap_server  # noqa: F401
from tests.sending import bounce_samples as samples
from tests.workers import wait_until
from worker.models import Delivery, Dispatch, DispatchStatus

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _finished(issue) -> Dispatch | None:
    dispatch = Dispatch.objects.filter(issue=issue).first()
    return dispatch if dispatch is not None and dispatch.status == DispatchStatus.DONE else None


def test_a_bounce_to_the_verp_address_is_polled_by_beat_and_stops_the_next_issue(
    celery_workers,
    smtp_server,
    imap_server,  # noqa: F811
):
    segment = segment_make(slug="lasare")
    karin = subscriber_make(email="karin.lind@kommun.example.se", segments=[segment])
    olle = subscriber_make(email="olle.berg@kommun.example.se", segments=[segment])
    first, second = sendable_issue_make(slug="2018-1"), sendable_issue_make(slug="2018-2")
    # A short poll interval, so the test need not wait five minutes for beat's first poll.
    celery_workers.start(
        BOUNCE_ADDRESS="bounces@lansnytt.example.org",
        BOUNCE_MAILBOX_URL=imap_server.url,
        BOUNCE_MAILBOX_POLL_SECONDS="2",
    )

    call_command("send_issue", first.slug)
    wait_until(lambda: _finished(first), timeout=90, message="first issue not sent")
    delivery = Delivery.objects.get(issue=first, subscriber=karin)
    return_path = smtp_server.envelope_senders[karin.email]
    assert return_path.startswith("bounces+") and return_path != "lansnytt@example.org"
    imap_server.append(
        samples.hard_dsn(recipient=karin.email, message_id=delivery.message_id, to=return_path)
    )

    wait_until(
        lambda: Subscriber.objects.get(pk=karin.pk).status == SubscriberStatus.BOUNCED,
        timeout=90,
        message="the worker's beat did not apply the bounce",
    )
    assert Suppression.objects.for_address(karin.email).get().source == "mailbox"
    assert ConsentEvent.objects.get(subscriber=karin, action="bounce").source == "mailbox"
    wait_until(lambda: imap_server.messages("INBOX") == [], timeout=30, message="not moved")
    assert len(imap_server.messages("Processed")) == 1
    smtp_server.received.clear()

    call_command("send_issue", second.slug)
    wait_until(lambda: _finished(second), timeout=90, message="second issue not sent")
    assert smtp_server.recipients() == [olle.email]
