"""Outbound webhooks for real: a loopback receiver verifies Standard Webhooks signatures,
answers 500 first and sees the retry from a real Celery worker; the outbound guard keeps
internal addresses out; personal data goes only where it is allowed."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from newsletter.models import IssueStatus
from newsletter.services import issue_publish
from subscribers.consent import RequestOrigin
from subscribers.services import subscriber_unsubscribe
from tests.factories import article_make, issue_make, subscriber_make
from tests.webservers import answer
from tests.workers import wait_until
from webhooks.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint, WebhookEvent
from webhooks.services import RETRY_SCHEDULE, webhook_delivery_attempt

pytestmark = pytest.mark.django_db(transaction=True)


def in_turn(*behaviours):
    """The first request gets the first behaviour, and so on; the last one repeats."""
    calls = []

    def behave(handler):
        behaviour = behaviours[min(len(calls), len(behaviours) - 1)]
        calls.append(handler.path)
        behaviour(handler)

    return behave


def _ready_issue():
    issue = issue_make(year=2018, number=1, status=IssueStatus.READY)
    article_make(issue=issue, heading="Bokstart når fler familjer")
    return issue


def _headers(seen) -> dict[str, str]:
    return {name.lower(): value for name, value in seen.headers.items()}


@pytest.mark.slow
def test_a_worker_delivers_signed_events_and_retries_after_a_500(celery_workers, http_servers):
    receiver = http_servers()
    receiver.route("/hooks", in_turn(answer(500, b"busy"), answer(204)))
    endpoint = WebhookEndpoint.objects.create(
        url=receiver.url("/hooks"), events=[WebhookEvent.ISSUE_PUBLISHED]
    )
    celery_workers.start(default_timings=True, OUTBOUND_ALLOW_TEST_HOSTS=receiver.address)

    issue_publish(issue=_ready_issue())

    delivery = wait_until(
        lambda: WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.DELIVERED).first(),
        timeout=60,
        message="the worker never delivered the event",
    )
    posts = [seen for seen in receiver.requests if seen.method == "POST"]
    print(f"injected: one 500 answer; counted: {len(posts)} POSTs, attempts={delivery.attempts}")
    assert len(posts) == 2 and delivery.attempts == 2
    assert delivery.last_status_code == 204
    # A retry is the same message: same webhook-id, so a receiver can drop a repeat.
    assert _headers(posts[0])["webhook-id"] == _headers(posts[1])["webhook-id"]
    assert _headers(posts[0])["webhook-id"] == delivery.message_id
    # ... and it waited the schedule's first step, not a tight loop.
    first, second = (int(_headers(seen)["webhook-timestamp"]) for seen in posts)
    assert second - first >= RETRY_SCHEDULE[0] - 1

    verifier = Webhook(endpoint.secret)
    for seen in posts:
        payload = verifier.verify(seen.body, _headers(seen))
        assert payload["type"] == "issue.published"
        assert payload["data"]["issue"] == "2018-1"
        assert payload["data"]["permalink"].endswith("/arkiv/2018-1/")

    seen = posts[1]
    tampered = seen.body.replace(b"2018-1", b"2018-2")
    with pytest.raises(WebhookVerificationError):
        verifier.verify(tampered, _headers(seen))
    with pytest.raises(WebhookVerificationError):
        Webhook(WebhookEndpoint(url="https://x.example").secret).verify(seen.body, _headers(seen))
    # A replay after the tolerance (five minutes) fails even with an intact signature.
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        with pytest.raises(WebhookVerificationError):
            verifier.verify(seen.body, _headers(seen))


def test_publishing_announces_the_issue_and_each_article_once():
    WebhookEndpoint.objects.create(
        url="https://cms.example/hooks",
        events=[WebhookEvent.ISSUE_PUBLISHED, WebhookEvent.ARTICLE_PUBLISHED],
    )
    WebhookEndpoint.objects.create(
        url="https://annan.example/hooks", events=[WebhookEvent.DISPATCH_FINISHED]
    )
    issue = _ready_issue()
    article_make(issue=issue, heading="Digital service")

    issue_publish(issue=issue)

    events = sorted(WebhookDelivery.objects.values_list("event", flat=True))
    assert events == ["article.published", "article.published", "issue.published"]


def test_an_unsubscribe_carries_the_address_only_to_an_endpoint_allowed_personal_data():
    plain = WebhookEndpoint.objects.create(
        url="https://statistik.example/hooks", events=[WebhookEvent.SUBSCRIBER_UNSUBSCRIBED]
    )
    allowed = WebhookEndpoint.objects.create(
        url="https://crm.example/hooks",
        events=[WebhookEvent.SUBSCRIBER_UNSUBSCRIBED],
        personal_data_allowed=True,
    )
    subscriber = subscriber_make(email="anna@bibliotek.example", name="Anna")

    subscriber_unsubscribe(subscriber=subscriber, source="web", origin=RequestOrigin())
    subscriber_unsubscribe(subscriber=subscriber, source="web", origin=RequestOrigin())

    payloads = {
        delivery.endpoint_id: delivery.payload
        for delivery in WebhookDelivery.objects.filter(event="subscriber.unsubscribed")
    }
    assert set(payloads) == {plain.pk, allowed.pk}  # once each: the second call changed nothing
    assert "anna@bibliotek.example" not in json.dumps(payloads[plain.pk])
    assert "subscriber" not in payloads[plain.pk]["data"]
    assert payloads[allowed.pk]["data"]["email"] == "anna@bibliotek.example"


def test_an_endpoint_on_an_internal_address_is_never_reached(http_servers):
    inside = http_servers()  # on loopback and not let through: stands for the intranet
    WebhookEndpoint.objects.create(url=inside.url("/hooks"), events=[WebhookEvent.ISSUE_PUBLISHED])
    issue_publish(issue=_ready_issue())
    delivery = WebhookDelivery.objects.get()

    retry_in = webhook_delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert inside.connections == 0
    assert "intern adress" in delivery.last_error
    assert delivery.status == WebhookDeliveryStatus.PENDING and retry_in == RETRY_SCHEDULE[0]


def test_a_redirect_is_not_followed_and_counts_as_a_failure(http_servers, settings):
    receiver, elsewhere = http_servers(), http_servers()
    settings.OUTBOUND_ALLOW_TEST_HOSTS = [receiver.address, elsewhere.address]
    receiver.route("/hooks", answer(307, headers={"Location": elsewhere.url("/steal")}))
    WebhookEndpoint.objects.create(
        url=receiver.url("/hooks"), events=[WebhookEvent.ISSUE_PUBLISHED]
    )
    issue_publish(issue=_ready_issue())
    delivery = WebhookDelivery.objects.get()

    webhook_delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert elsewhere.connections == 0
    assert delivery.status == WebhookDeliveryStatus.PENDING and delivery.attempts == 1


def test_it_gives_up_after_the_last_retry(http_servers, settings):
    receiver = http_servers()
    settings.OUTBOUND_ALLOW_TEST_HOSTS = [receiver.address]
    receiver.route("/hooks", answer(500))
    WebhookEndpoint.objects.create(
        url=receiver.url("/hooks"), events=[WebhookEvent.ISSUE_PUBLISHED]
    )
    issue_publish(issue=_ready_issue())
    delivery = WebhookDelivery.objects.get()

    for _ in range(len(RETRY_SCHEDULE) + 1):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        webhook_delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.FAILED
    assert delivery.attempts == len(RETRY_SCHEDULE) + 1
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None  # nothing more to do


def test_a_delivery_not_yet_due_is_not_sent_twice(http_servers, settings):
    receiver = http_servers()
    settings.OUTBOUND_ALLOW_TEST_HOSTS = [receiver.address]
    receiver.route("/hooks", answer(500))
    WebhookEndpoint.objects.create(
        url=receiver.url("/hooks"), events=[WebhookEvent.ISSUE_PUBLISHED]
    )
    issue_publish(issue=_ready_issue())
    delivery = WebhookDelivery.objects.get()

    webhook_delivery_attempt(delivery_id=delivery.pk)
    webhook_delivery_attempt(delivery_id=delivery.pk)  # a duplicate task, before the retry is due

    assert len([seen for seen in receiver.requests if seen.method == "POST"]) == 1


def test_a_finished_dispatch_is_announced_once_with_its_counts():
    from worker.models import Delivery, DeliveryStatus, Dispatch, DispatchStatus
    from worker.services import dispatch_finish_if_complete

    WebhookEndpoint.objects.create(
        url="https://cms.example/hooks", events=[WebhookEvent.DISPATCH_FINISHED]
    )
    issue = issue_make(year=2018, number=1, status=IssueStatus.PUBLISHED)
    dispatch = Dispatch.objects.create(issue=issue, status=DispatchStatus.SENDING, planned_count=2)
    for number, status in enumerate([DeliveryStatus.SENT, DeliveryStatus.FAILED]):
        subscriber = subscriber_make(email=f"p{number}@bibliotek.example")
        Delivery.objects.create(
            dispatch=dispatch, issue=issue, subscriber=subscriber, email=subscriber.email,
            status=status,
        )  # fmt: skip

    assert dispatch_finish_if_complete(dispatch_id=dispatch.pk)
    assert not dispatch_finish_if_complete(dispatch_id=dispatch.pk)

    delivery = WebhookDelivery.objects.get()
    data = delivery.payload["data"]
    assert delivery.event == "dispatch.finished"
    assert (data["dispatch"], data["status"], data["sent"], data["failed"]) == (
        dispatch.pk, "done", 1, 1,
    )  # fmt: skip
    assert "p0@bibliotek.example" not in json.dumps(delivery.payload)
