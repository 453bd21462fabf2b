"""Providers' tracking webhooks through django-anymail: signed payloads as the providers
send them (after anymail's own documentation and test fixtures), and forged ones."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.utils import timezone

from subscribers.models import ConsentEvent, SoftBounce, Subscriber, SubscriberStatus, Suppression
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from worker.models import Delivery, DeliveryStatus, Dispatch
from worker.verp import delivery_token_make

pytestmark = pytest.mark.django_db

BASIC = "lansnytt-webhook:Rm9yIHdlYmhvb2tzIG9ubHk"
MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"


def _auth(credentials: str = BASIC) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": BASIC, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}


@pytest.fixture
def delivery():
    issue = sendable_issue_make()
    subscriber = subscriber_make(
        email="karin.lind@kommun.example.se", segments=[segment_make(slug="l")]
    )
    row = Delivery.objects.create(
        dispatch=Dispatch.objects.create(issue=issue),
        issue=issue,
        subscriber=subscriber,
        email=subscriber.email,
        status=DeliveryStatus.SENT,
        sent_at=timezone.now(),
    )
    row.message_id = f"lansnytt.d{row.pk}@lansnytt.example.org"
    row.save(update_fields=["message_id"])
    return row


def _mailgun(event_data: dict, *, key: str = MAILGUN_KEY) -> str:
    timestamp, token = str(int(time.time())), "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return json.dumps(
        {
            "signature": {"timestamp": timestamp, "token": token, "signature": signature},
            "event-data": event_data,
        }
    )


def _mailgun_failed(delivery: Delivery, *, severity: str = "permanent", code: int = 550) -> dict:
    return {
        "event": "failed",
        "severity": severity,
        "id": "G9Bn5sl1TC6nu79C8C0bwg",
        "timestamp": time.time(),
        "recipient": delivery.email,
        "reason": "bounce" if severity == "permanent" else "generic",
        "message": {"headers": {"message-id": delivery.message_id, "to": delivery.email}},
        "delivery-status": {
            "code": code,
            "message": f"{code} {'5.1.1 No such user' if code >= 500 else '4.2.2 Mailbox full'}",
            "description": "",
        },
        "user-variables": {},
    }


def _subscriber(delivery: Delivery) -> Subscriber:
    return Subscriber.objects.get(pk=delivery.subscriber_id)


def test_it_applies_a_signed_mailgun_hard_bounce_by_message_id(client, delivery):
    response = client.post(
        "/anymail/mailgun/tracking/",
        _mailgun(_mailgun_failed(delivery)),
        content_type="application/json",
        **_auth(),
    )

    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.bounced_at is not None
    assert _subscriber(delivery).status == SubscriberStatus.BOUNCED
    suppression = Suppression.objects.for_address(delivery.email).get()
    assert (suppression.reason, suppression.source) == ("bounced", "webhook")
    assert "(mailgun)" in suppression.detail and "Message-ID" in suppression.detail
    event = ConsentEvent.objects.get(action="bounce")
    assert (event.source, event.detail["provider"]) == ("webhook", "mailgun")


def test_it_scores_a_mailgun_temporary_failure_as_a_soft_bounce(client, delivery):
    client.post(
        "/anymail/mailgun/tracking/",
        _mailgun(_mailgun_failed(delivery, severity="temporary", code=452)),
        content_type="application/json",
        **_auth(),
    )

    delivery.refresh_from_db()
    assert delivery.bounced_at is None
    assert SoftBounce.objects.filter(dispatch_key=delivery.dispatch_id).count() == 1
    assert not Suppression.objects.exists()


def test_it_applies_a_postmark_spam_complaint_by_the_delivery_token_in_its_metadata(
    client, delivery
):
    payload = {
        "RecordType": "SpamComplaint",
        "ID": 42,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Tag": "",
        "MessageID": "00000000-0000-0000-0000-000000000000",  # Postmark's own id
        "Metadata": {"lansnytt_delivery": delivery_token_make(delivery_id=delivery.pk)},
        "ServerID": 23,
        "Description": "The subscriber explicitly marked this message as spam.",
        "Details": "Test spam complaint details",
        "Email": delivery.email,
        "From": "lansnytt@example.org",
        "BouncedAt": "2026-11-26T09:15:00.0000000Z",
        "Inactive": True,
        "CanActivate": False,
        "Subject": "Länsnytt 2018:1",
    }

    response = client.post(
        "/anymail/postmark/tracking/",
        json.dumps(payload),
        content_type="application/json",
        **_auth(),
    )

    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.complained_at is not None
    assert _subscriber(delivery).status == SubscriberStatus.UNSUBSCRIBED
    assert Suppression.objects.for_address(delivery.email).get().reason == "complaint"
    event = ConsentEvent.objects.get(action="complaint")
    assert (event.source, event.detail["provider"]) == ("webhook", "postmark")


def test_it_scores_a_postmark_soft_bounce_which_anymail_calls_bounced(client, delivery):
    payload = {
        "RecordType": "Bounce",
        "ID": 43,
        "Type": "SoftBounce",
        "TypeCode": 4096,
        "MessageID": "00000000-0000-0000-0000-000000000001",
        "Metadata": {"lansnytt_delivery": delivery_token_make(delivery_id=delivery.pk)},
        "Description": "The server was unable to deliver your message (ex: unknown user, "
        "mailbox not found).",
        "Details": "mailbox full",
        "Email": delivery.email,
        "BouncedAt": "2026-11-26T09:15:00.0000000Z",
    }

    client.post(
        "/anymail/postmark/tracking/",
        json.dumps(payload),
        content_type="application/json",
        **_auth(),
    )

    assert _subscriber(delivery).status == SubscriberStatus.ACTIVE
    assert SoftBounce.objects.count() == 1


def test_it_applies_sendgrid_events_by_our_message_id(client, delivery):
    events = [
        {
            "email": delivery.email,
            "timestamp": int(time.time()),
            "smtp-id": f"<{delivery.message_id}>",
            "event": "bounce",
            "type": "bounce",
            "status": "5.1.1",
            "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
            "sg_event_id": "sendgrid_internal_event_id",
            "sg_message_id": "sendgrid_internal_message_id",
        }
    ]

    response = client.post(
        "/anymail/sendgrid/tracking/",
        json.dumps(events),
        content_type="application/json",
        **_auth(),
    )

    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.bounced_at is not None
    assert ConsentEvent.objects.get(action="bounce").detail["provider"] == "sendgrid"


def test_it_refuses_a_mailgun_payload_with_a_bad_signature(client, delivery):
    response = client.post(
        "/anymail/mailgun/tracking/",
        _mailgun(_mailgun_failed(delivery), key="key-not-the-one-we-share-with-mailgun"),
        content_type="application/json",
        **_auth(),
    )

    assert response.status_code == 400
    delivery.refresh_from_db()
    assert delivery.bounced_at is None
    assert not Suppression.objects.exists()


def test_it_refuses_a_webhook_without_the_right_basic_auth(client, delivery):
    body = _mailgun(_mailgun_failed(delivery))

    wrong = client.post(
        "/anymail/mailgun/tracking/",
        body,
        content_type="application/json",
        **_auth("lansnytt-webhook:gissat"),
    )
    missing = client.post("/anymail/mailgun/tracking/", body, content_type="application/json")

    assert (wrong.status_code, missing.status_code) == (400, 400)
    delivery.refresh_from_db()
    assert delivery.bounced_at is None


def test_it_serves_no_webhook_while_no_secret_is_configured(client, delivery, settings):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}

    response = client.post(
        "/anymail/sendgrid/tracking/",
        json.dumps([{"email": delivery.email, "event": "bounce", "timestamp": 1}]),
        content_type="application/json",
    )

    assert response.status_code == 404
    delivery.refresh_from_db()
    assert delivery.bounced_at is None


def test_it_ignores_a_forged_delivery_token_in_the_metadata(client, delivery):
    other = subscriber_make(email="olle.berg@kommun.example.se")
    payload = {
        "RecordType": "SpamComplaint",
        "Type": "SpamComplaint",
        "MessageID": "00000000-0000-0000-0000-000000000002",
        "Metadata": {"lansnytt_delivery": f"{delivery.pk}-{'f' * 20}"},
        "Email": other.email,
        "BouncedAt": "2026-11-26T09:15:00.0000000Z",
    }

    client.post(
        "/anymail/postmark/tracking/",
        json.dumps(payload),
        content_type="application/json",
        **_auth(),
    )

    delivery.refresh_from_db()
    assert delivery.complained_at is None
    assert not Suppression.objects.exists()
    assert not ConsentEvent.objects.filter(action="complaint").exists()
