"""Scheduled dispatches start when due, but never by themselves when long overdue."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.factories import issue_make, segment_make, subscriber_make
from worker.models import Delivery, Dispatch, DispatchStatus
from worker.services import dispatches_start_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue_with_readers():
    readers = segment_make(slug="lasare")
    for n in range(3):
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers])
    return issue_make()


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

    with pytest.raises(CommandError, match="Okänt segment: finns-inte"):
        call_command("send_issue", issue_with_readers.slug, "--segment", "finns-inte")

    assert not Dispatch.objects.exists()
