"""A schedule cannot surprise anyone: a time in the past is refused (command and admin), a
time without a zone is Stockholm's, and a wall-clock time that a daylight-saving change
skips or repeats is refused rather than guessed."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from accounts.roles import EDITORS
from audit.models import AuditEntry
from tests.dispatching import dispatch_add_confirmed
from tests.factories import segment_make, sendable_issue_make, staff_user_make, subscriber_make
from worker.models import Delivery, Dispatch, DispatchStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue():
    readers = segment_make(slug="lasare")
    for n in range(3):
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers])
    return sendable_issue_make()


def _send(issue, *args) -> str:
    out = io.StringIO()
    call_command("send_issue", issue.slug, "--segment", "lasare", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    "when",
    [
        lambda: (timezone.localtime() - timedelta(days=2)).replace(tzinfo=None).isoformat(),
        lambda: (timezone.now() - timedelta(minutes=6)).isoformat(),
        # A typo in the year.
        lambda: timezone.localtime().replace(year=2016, tzinfo=None).isoformat(),
    ],
)
def test_a_time_in_the_past_is_refused_and_creates_and_sends_nothing(issue, smtp_server, when):
    with pytest.raises(CommandError, match="har redan passerat") as refused:
        _send(issue, "--schedule", when())

    assert "Skicka nu utan schemaläggning, eller välj en senare tid" in str(refused.value)
    assert not Dispatch.objects.exists()
    assert not Delivery.objects.exists()
    assert not AuditEntry.objects.filter(action="dispatch_create").exists()
    assert smtp_server.recipients() == []


def test_a_time_just_typed_is_within_the_tolerance_and_starts_at_once(issue):
    _send(issue, "--schedule", (timezone.now() - timedelta(minutes=2)).isoformat())

    dispatch = Dispatch.objects.get()
    assert dispatch.status == DispatchStatus.SENDING
    assert Delivery.objects.count() == 3


def test_a_time_without_a_zone_is_read_in_stockholm_and_shown_with_its_zone(issue):
    year = timezone.localtime().year + 1
    winter, summer = f"{year}-01-15T08:00", f"{year}-07-15T08:00"

    winter_out = _send(issue, "--schedule", winter)
    summer_out = _send(issue, "--schedule", summer)

    first, second = Dispatch.objects.order_by("id")
    assert first.scheduled_at == datetime(year, 1, 15, 7, 0, tzinfo=UTC)
    assert second.scheduled_at == datetime(year, 7, 15, 6, 0, tzinfo=UTC)
    assert f"{year}-01-15 08:00 CET" in winter_out
    assert f"{year}-07-15 08:00 CEST" in summer_out
    status = io.StringIO()
    call_command("dispatch_status", stdout=status)
    assert f"{year}-01-15 08:00 CET" in status.getvalue()


@pytest.mark.parametrize(
    ("when", "says"),
    [
        # Clocks go forward at 02:00 on the last Sunday of March: 02:30 never happens.
        ("2030-03-31T02:30", "finns inte"),
        # And back at 03:00 on the last Sunday of October: 02:30 happens twice.
        ("2030-10-27T02:30", "två gånger"),
        ("2030-13-01T08:00", "ingen tid"),
        ("imorgon", "ingen tid"),
        ("<script>alert(1)</script>", "ingen tid"),
    ],
)
def test_a_time_that_does_not_exist_or_is_ambiguous_is_refused(issue, when, says):
    with pytest.raises(CommandError, match=says):
        _send(issue, "--schedule", when)

    assert not Dispatch.objects.exists()


def test_an_ambiguous_time_with_its_offset_is_accepted(issue):
    _send(issue, "--schedule", "2030-10-27T02:30+01:00")

    assert Dispatch.objects.get().scheduled_at == datetime(2030, 10, 27, 1, 30, tzinfo=UTC)


@pytest.fixture
def editor_client(client):
    client.force_login(staff_user_make(username="redaktor", groups=[EDITORS]))
    return client


def _admin_form(issue, when: datetime) -> dict:
    local = timezone.localtime(when)
    return {
        "issue": issue.pk,
        "segments": [segment_make(slug="andra").pk],
        "scheduled_at_0": f"{local:%Y-%m-%d}",
        "scheduled_at_1": f"{local:%H:%M:%S}",
    }


def test_the_admin_refuses_a_past_time_with_the_same_words(editor_client, issue):
    response = editor_client.post(
        reverse("admin:worker_dispatch_add"), _admin_form(issue, timezone.now() - timedelta(days=2))
    )

    assert response.status_code == 200
    assert "har redan passerat" in response.content.decode()
    assert not Dispatch.objects.exists()


def test_the_admin_refuses_a_wall_time_the_clocks_skip(editor_client, issue):
    form = {**_admin_form(issue, timezone.now()), "scheduled_at_0": "2030-03-31"}
    form["scheduled_at_1"] = "02:30:00"

    response = editor_client.post(reverse("admin:worker_dispatch_add"), form)

    assert response.status_code == 200
    assert not Dispatch.objects.exists()


def test_the_admin_schedules_a_future_time_and_names_its_zone(editor_client, issue):
    later = timezone.now() + timedelta(days=3)

    response = dispatch_add_confirmed(editor_client, _admin_form(issue, later))

    assert response.status_code == 302
    dispatch = Dispatch.objects.get()
    assert dispatch.status == DispatchStatus.PLANNED
    listing = editor_client.get(reverse("admin:worker_dispatch_changelist")).content.decode()
    assert timezone.localtime(later).tzname() in listing
