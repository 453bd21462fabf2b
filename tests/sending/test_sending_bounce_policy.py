"""The bounce policy through the real pipeline: each delivery's own return path, a hard
bounce keeping an address out of the next dispatch, soft bounces counted per dispatch, and
staff lifting a suppression. Sending runs in-process against a real SMTP server."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.roles import ADMINISTRATORS, role_groups_sync
from audit.models import AuditAction, AuditEntry
from subscribers.bounce_policy import COMPLAINT, SOFT, Feedback, feedback_apply, soft_bounce_score
from subscribers.models import (
    ConsentEvent,
    SoftBounce,
    Subscriber,
    SubscriberStatus,
    Suppression,
)
from tests.factories import segment_make, sendable_issue_make, staff_user_make, subscriber_make
from tests.sending import bounce_samples as samples
from worker.celery import app
from worker.models import Delivery, Dispatch
from worker.verp import delivery_token_read, verp_address

pytestmark = pytest.mark.django_db(transaction=True)

BOUNCES = "bounces@lansnytt.example.org"


@pytest.fixture
def pipeline(settings, smtp_server):
    settings.REDIS_URL = ""
    settings.EMAIL_URL = smtp_server.url
    settings.BOUNCE_ADDRESS = BOUNCES
    # The Celery app read its configuration once; the settings fixture cannot reach it.
    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield smtp_server
    app.conf.task_always_eager = was_eager


@pytest.fixture
def readers():
    segment = segment_make(slug="lasare")
    return [
        subscriber_make(email=email, segments=[segment])
        for email in ("karin.lind@kommun.example.se", "olle.berg@kommun.example.se")
    ]


def _send(number: int) -> Dispatch:
    issue = sendable_issue_make(slug=f"2018-{number}", title=f"Länsnytt 2018:{number}")
    call_command("send_issue", issue.slug)
    return Dispatch.objects.get(issue=issue)


def _bounce_file(tmp_path, raw: bytes) -> None:
    path = tmp_path / f"{len(list(tmp_path.iterdir()))}.eml"
    path.write_bytes(raw)
    call_command("process_bounces", str(path))


def test_it_sends_each_delivery_with_its_own_signed_return_path(pipeline, readers):
    dispatch = _send(1)

    for delivery in Delivery.objects.filter(dispatch=dispatch):
        envelope_sender = pipeline.envelope_senders[delivery.email]
        assert envelope_sender == verp_address(delivery_id=delivery.pk)
        local, _, domain = envelope_sender.partition("@")
        assert domain == "lansnytt.example.org"
        assert delivery_token_read(local.removeprefix("bounces+")) == delivery.pk
    # The From header is still the magazine's; only the envelope names the delivery.
    [message] = pipeline.parsed(readers[0].email)
    assert "lansnytt@example.org" in message["From"]


def test_it_skips_a_hard_bounced_address_in_the_next_dispatch(pipeline, readers, tmp_path):
    karin, olle = readers
    first = _send(1)
    delivery = Delivery.objects.get(dispatch=first, subscriber=karin)
    _bounce_file(
        tmp_path,
        samples.hard_dsn(
            recipient=karin.email,
            message_id=delivery.message_id,
            to=verp_address(delivery_id=delivery.pk),
        ),
    )
    pipeline.received.clear()

    second = _send(2)

    assert pipeline.recipients() == [olle.email]
    assert not Delivery.objects.filter(dispatch=second, subscriber=karin).exists()
    assert Subscriber.objects.get(pk=karin.pk).status == SubscriberStatus.BOUNCED


def test_it_suppresses_a_soft_bouncing_address_only_after_three_separate_dispatches(
    pipeline, readers, tmp_path
):
    karin, olle = readers

    def soft_bounce(dispatch: Dispatch, times: int = 1) -> None:
        delivery = Delivery.objects.get(dispatch=dispatch, subscriber=karin)
        for _ in range(times):
            _bounce_file(
                tmp_path,
                samples.soft_dsn(
                    recipient=karin.email,
                    message_id=delivery.message_id,
                    to=verp_address(delivery_id=delivery.pk),
                ),
            )

    soft_bounce(_send(1), times=3)  # a provider retrying all night still counts once
    soft_bounce(_send(2))
    assert soft_bounce_score(email=karin.email) == 2
    assert Subscriber.objects.get(pk=karin.pk).status == SubscriberStatus.ACTIVE
    pipeline.received.clear()

    third = _send(3)
    assert sorted(pipeline.recipients()) == sorted([karin.email, olle.email])
    soft_bounce(third)

    assert Subscriber.objects.get(pk=karin.pk).status == SubscriberStatus.BOUNCED
    suppression = Suppression.objects.for_address(karin.email).get()
    assert suppression.reason == "bounced"
    assert "3 tillfälliga studsar i olika utskick inom 90 dagar" in suppression.detail
    event = ConsentEvent.objects.get(subscriber=karin, action="bounce")
    assert event.detail["soft_bounce_score"] == 3
    pipeline.received.clear()
    _send(4)
    assert pipeline.recipients() == [olle.email]


def test_it_no_longer_counts_soft_bounces_older_than_the_stale_limit(readers):
    karin = readers[0]
    issue = sendable_issue_make()
    dispatches = [Dispatch.objects.create(issue=issue) for _ in range(3)]

    def soft(dispatch: Dispatch):
        return feedback_apply(
            feedback=Feedback(
                kind=SOFT,
                email=karin.email,
                source="mailbox",
                subscriber_id=karin.pk,
                dispatch_key=dispatch.pk,
                status="4.2.2",
            )
        )

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        soft(dispatches[0])
        soft(dispatches[1])
    with time_machine.travel(start + timedelta(days=91), tick=False):
        outcome = soft(dispatches[2])

    assert outcome.summary == "soft bounce scored: 1 of 3"
    assert not Suppression.objects.exists()
    assert Subscriber.objects.get(pk=karin.pk).status == SubscriberStatus.ACTIVE


def test_staff_see_why_an_address_is_suppressed_and_lifting_it_is_recorded(
    pipeline, readers, tmp_path, client
):
    karin = readers[0]
    dispatch = _send(1)
    delivery = Delivery.objects.get(dispatch=dispatch, subscriber=karin)
    _bounce_file(
        tmp_path,
        samples.hard_dsn(
            recipient=karin.email,
            message_id=delivery.message_id,
            to=verp_address(delivery_id=delivery.pk),
        ),
    )
    role_groups_sync()
    administrator = staff_user_make(username="admin-lyft", groups=[ADMINISTRATORS])
    client.force_login(administrator)
    suppression = Suppression.objects.get()

    listing = client.get(reverse("admin:subscribers_suppression_changelist"))
    client.post(
        reverse("admin:subscribers_suppression_delete", args=[suppression.pk]), {"post": "yes"}
    )

    page = listing.content.decode()
    assert "5.1.1" in page and "Studsrapport från fil" in page
    assert not Suppression.objects.exists()
    karin.refresh_from_db()
    assert karin.status == SubscriberStatus.ACTIVE  # the bounce was the only reason
    lifted = ConsentEvent.objects.get(subscriber=karin, action="suppression_lift")
    assert lifted.staff_user == administrator
    assert lifted.detail["status_before"] == "bounced"
    assert "5.1.1" in lifted.detail["why"]
    assert AuditEntry.objects.get(action=AuditAction.SUPPRESSION_REMOVE).actor_id == (
        administrator.pk
    )
    assert not SoftBounce.objects.exists()


def test_lifting_a_complaint_suppression_does_not_resubscribe_the_person(readers, client):
    karin = readers[0]
    feedback_apply(
        feedback=Feedback(
            kind=COMPLAINT, email=karin.email, source="webhook", subscriber_id=karin.pk
        )
    )
    role_groups_sync()
    client.force_login(staff_user_make(username="admin-klagomal", groups=[ADMINISTRATORS]))

    client.post(
        reverse("admin:subscribers_suppression_delete", args=[Suppression.objects.get().pk]),
        {"post": "yes"},
    )

    karin.refresh_from_db()
    assert karin.status == SubscriberStatus.UNSUBSCRIBED
    assert ConsentEvent.objects.filter(subscriber=karin, action="suppression_lift").exists()


def test_it_puts_the_delivery_token_where_the_relay_provider_hands_it_back(
    pipeline, readers, settings, client
):
    settings.EMAIL_PROVIDER = "mailgun"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "lansnytt:webhook", "MAILGUN_WEBHOOK_SIGNING_KEY": "k"}
    dispatch = _send(1)
    karin = readers[0]
    delivery = Delivery.objects.get(dispatch=dispatch, subscriber=karin)
    [message] = pipeline.parsed(karin.email)
    variables = json.loads(message["X-Mailgun-Variables"])
    assert delivery_token_read(variables["lansnytt_delivery"]) == delivery.pk
    # Mailgun's webhook echoes the variables back; the Message-ID it saw is not needed.
    timestamp, token = "1764600000", "a" * 50
    signature = hmac.new(b"k", f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    body = {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": {
            "event": "complained",
            "timestamp": 1764600000.0,
            "recipient": karin.email,
            "message": {"headers": {"message-id": "20261201.1@mg.example.org"}},
            "user-variables": variables,
        },
    }

    response = client.post(
        "/anymail/mailgun/tracking/",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"lansnytt:webhook").decode(),
    )

    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.complained_at is not None
    assert Subscriber.objects.get(pk=karin.pk).status == SubscriberStatus.UNSUBSCRIBED
