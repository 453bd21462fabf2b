"""Pause, resume, cancel, a second dispatch to overlapping segments, changes mid-send."""

import collections
import time

import pytest
from django.core.management import call_command

from subscribers.models import Subscriber, SubscriberStatus
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.workers import wait_until
from worker.models import Delivery, DeliveryStatus, Dispatch, DispatchStatus
from worker.services import dispatch_cancel, dispatch_pause, dispatch_resume

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

BATCH_SIZE = 10  # SEND_BATCH_SIZE of the test workers (conftest)
POOL = 2  # their --concurrency


def settled_count(sink, *, quiet: float = 1.0, timeout: float = 30) -> int:
    """The number of messages received once nothing more arrives for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    count = len(sink.recipients())
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = len(sink.recipients())
        if now == count:
            return count
        count = now
    raise AssertionError("the sink never went quiet")


def test_it_pauses_within_a_batch_and_resume_finishes_without_resending(
    celery_workers, smtp_server
):
    readers = segment_make(slug="lasare")
    people = [
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers]) for n in range(150)
    ]
    issue = sendable_issue_make()
    smtp_server.delay = 0.01
    celery_workers.start()
    call_command("send_issue", issue.slug)
    dispatch = Dispatch.objects.get()
    wait_until(lambda: len(smtp_server.recipients()) >= 30, message="sending never started")

    dispatch_pause(dispatch=dispatch)
    at_pause = len(smtp_server.recipients())

    after_pause = settled_count(smtp_server)
    # Each running batch notices within SEND_STATUS_CHECK_EVERY messages, less than a batch.
    assert after_pause - at_pause <= POOL * BATCH_SIZE
    assert after_pause < len(people)
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.PAUSED
    assert not Delivery.objects.filter(status=DeliveryStatus.SENDING).exists()

    dispatch_resume(dispatch=dispatch)

    wait_until(
        lambda: Dispatch.objects.get(pk=dispatch.pk).status == DispatchStatus.DONE,
        message="resumed dispatch did not finish",
    )
    counts = collections.Counter(smtp_server.recipients())
    assert set(counts) == {person.email for person in people}
    assert max(counts.values()) == 1


def test_it_cancels_leaving_the_rest_unsent_and_says_how_many(celery_workers, smtp_server):
    readers = segment_make(slug="lasare")
    for n in range(150):
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers])
    issue = sendable_issue_make()
    smtp_server.delay = 0.01
    celery_workers.start()
    call_command("send_issue", issue.slug)
    dispatch = Dispatch.objects.get()
    wait_until(lambda: len(smtp_server.recipients()) >= 30, message="sending never started")

    dispatch_cancel(dispatch=dispatch)
    received = settled_count(smtp_server)

    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.CANCELLED
    sent = Delivery.objects.filter(status=DeliveryStatus.SENT).count()
    cancelled = Delivery.objects.filter(status=DeliveryStatus.CANCELLED).count()
    assert sent == received < 150
    assert sent + cancelled == 150
    # The reason counts rows still in flight at the moment of cancelling, which may then
    # still have been sent; it never undercounts what was left unsent.
    unsent_in_reason = int(dispatch.status_reason.split(": ")[1].split()[0])
    assert cancelled <= unsent_in_reason <= cancelled + POOL * BATCH_SIZE
    assert not Delivery.objects.filter(
        status__in=(DeliveryStatus.QUEUED, DeliveryStatus.SENDING)
    ).exists()


def test_it_mails_only_the_not_yet_mailed_when_sent_again_to_an_overlapping_segment(
    celery_workers, smtp_server
):
    libraries = segment_make(slug="bibliotek")
    politics = segment_make(slug="politik")
    only_libraries = [
        subscriber_make(email=f"bib{n}@example.se", segments=[libraries]) for n in range(5)
    ]
    both = [
        subscriber_make(email=f"bada{n}@example.se", segments=[libraries, politics])
        for n in range(5)
    ]
    only_politics = [
        subscriber_make(email=f"pol{n}@example.se", segments=[politics]) for n in range(5)
    ]
    issue = sendable_issue_make()
    celery_workers.start()

    call_command("send_issue", issue.slug, "--segment", "bibliotek")
    wait_until(lambda: Dispatch.objects.get().status == DispatchStatus.DONE, message="first")
    call_command("send_issue", issue.slug, "--segment", "politik")
    second = Dispatch.objects.order_by("-id").first()
    wait_until(
        lambda: Dispatch.objects.get(pk=second.pk).status == DispatchStatus.DONE, message="second"
    )

    assert second.planned_count == len(only_politics)
    counts = collections.Counter(smtp_server.recipients())
    everyone = {s.email for s in only_libraries + both + only_politics}
    assert set(counts) == everyone
    assert max(counts.values()) == 1


def test_it_skips_a_subscriber_who_unsubscribes_during_the_dispatch(celery_workers, smtp_server):
    readers = segment_make(slug="lasare")
    people = [subscriber_make(email=f"lasare{n}@example.se", segments=[readers]) for n in range(60)]
    leaver = people[-1]
    issue = sendable_issue_make()
    smtp_server.hold_after = 5
    celery_workers.start()
    call_command("send_issue", issue.slug)
    dispatch = Dispatch.objects.get()
    wait_until(lambda: smtp_server.held >= 1, message="sending never started")
    assert Delivery.objects.get(subscriber=leaver).status == DeliveryStatus.QUEUED

    Subscriber.objects.filter(pk=leaver.pk).update(status=SubscriberStatus.UNSUBSCRIBED)
    smtp_server.release()

    wait_until(
        lambda: Dispatch.objects.get(pk=dispatch.pk).status == DispatchStatus.DONE,
        message="dispatch did not finish",
    )
    assert leaver.email not in smtp_server.recipients()
    assert len(smtp_server.recipients()) == len(people) - 1
    skipped = Delivery.objects.get(subscriber=leaver)
    assert skipped.status == DeliveryStatus.SKIPPED
    assert skipped.last_error == "Prenumeranten är inte längre aktiv"
