"""Scheduled dispatches start when due, but never by themselves when long overdue."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from newsletter.services import issue_reopen
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from worker.models import Delivery, Dispatch, DispatchStatus
from worker.services import dispatches_start_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue_with_readers():
    readers = segment_make(slug="lasare")
    for n in range(3):
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers])
    return sendable_issue_make()


def test_it_plans_nothing_until_a_scheduled_dispatch_is_due(issue_with_readers):
    later = (timezone.localtime() + timedelta(hours=2)).replace(microsecond=0)

    call_command("send_issue", issue_with_readers.slug, "--schedule", later.isoformat())

    dispatch = Dispatch.objects.get()
    assert dispatch.status == DispatchStatus.PLANNED
    assert dispatch.scheduled_at == later
    assert not Delivery.objects.exists()
    assert dispatches_start_due() == []


def test_it_starts_a_scheduled_dispatch_once_due(issue_with_readers):
    call_command(
        "send_issue",
        issue_with_readers.slug,
        "--schedule",
        (timezone.now() + timedelta(minutes=5)).isoformat(),
    )

    started = dispatches_start_due(now=timezone.now() + timedelta(minutes=6))

    assert [dispatch.status for dispatch in started] == [DispatchStatus.SENDING]
    assert Delivery.objects.count() == 3


def test_it_holds_a_scheduled_dispatch_whose_issue_was_reopened_as_a_draft(issue_with_readers):
    call_command(
        "send_issue",
        issue_with_readers.slug,
        "--schedule",
        (timezone.now() + timedelta(minutes=5)).isoformat(),
    )
    issue_reopen(issue=issue_with_readers)

    started = dispatches_start_due(now=timezone.now() + timedelta(minutes=6))

    assert started == []
    dispatch = Dispatch.objects.get()
    assert dispatch.status == DispatchStatus.PLANNED and dispatch.awaiting_editor
    assert "utkast" in dispatch.status_reason
    assert not Delivery.objects.exists()


def test_it_holds_a_dispatch_long_past_its_deadline_for_an_editor(issue_with_readers, settings):
    settings.DISPATCH_SCHEDULE_DEADLINE_HOURS = 24
    call_command(
        "send_issue",
        issue_with_readers.slug,
        "--schedule",
        (timezone.now() + timedelta(minutes=5)).isoformat(),
    )

    # The workers were down for two days (or a backup from last week was restored).
    started = dispatches_start_due(now=timezone.now() + timedelta(days=2))

    assert started == []
    dispatch = Dispatch.objects.get()
    assert dispatch.status == DispatchStatus.PLANNED
    assert dispatch.awaiting_editor
    assert "Väntar på redaktör" in dispatch.status_reason
    assert not Delivery.objects.exists()
    assert dispatches_start_due(now=timezone.now() + timedelta(days=3)) == []


def test_it_refuses_an_unknown_segment_and_creates_nothing(issue_with_readers):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="okänt segment: finns-inte"):
        call_command("send_issue", issue_with_readers.slug, "--segment", "finns-inte")

    assert not Dispatch.objects.exists()


def test_it_requeues_expired_claims_and_fails_a_row_that_used_up_its_attempts(
    issue_with_readers, settings
):
    from worker.models import DeliveryStatus
    from worker.services import deliveries_sweep, dispatch_create

    settings.DELIVERY_MAX_ATTEMPTS = 3
    dispatch = dispatch_create(issue=issue_with_readers, segment_slugs=["lasare"])
    first, second, third = Delivery.objects.filter(dispatch=dispatch).order_by("id")
    long_ago = timezone.now() - timedelta(minutes=1)
    Delivery.objects.filter(pk=first.pk).update(
        status=DeliveryStatus.SENDING, claimed_until=long_ago, attempts=1
    )
    Delivery.objects.filter(pk=second.pk).update(
        status=DeliveryStatus.SENDING, claimed_until=long_ago, attempts=3
    )
    Delivery.objects.filter(pk=third.pk).update(
        status=DeliveryStatus.SENDING, claimed_until=timezone.now() + timedelta(minutes=5)
    )

    result = deliveries_sweep()

    assert result.requeued == 1
    statuses = dict(Delivery.objects.values_list("pk", "status"))
    assert statuses == {
        first.pk: DeliveryStatus.QUEUED,
        second.pk: DeliveryStatus.FAILED,
        third.pk: DeliveryStatus.SENDING,
    }
