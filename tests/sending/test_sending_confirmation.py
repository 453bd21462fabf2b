"""Know before you send: the confirmation page and `send_issue --dry-run` count what a
dispatch will do (overlaps once; suppressed, ineligible and already reached people left out
and counted), and the counts equal what planning then inserts. A resend names how many get
the issue a second time and needs its own confirmation."""

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from accounts.roles import EDITORS
from subscribers.models import Channel, SubscriberStatus, Suppression, SuppressionReason
from subscribers.validation import email_hash
from tests.dispatching import issue_approved
from tests.factories import segment_make, sendable_issue_make, staff_user_make, subscriber_make
from worker.models import Delivery, DeliveryStatus, Dispatch
from worker.preview import dispatch_preview, resend_preview
from worker.services import dispatch_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def audience():
    libraries, politicians = segment_make(slug="bibliotek"), segment_make(slug="politiker")
    for n in range(5):
        subscriber_make(email=f"bibliotek{n}@example.se", segments=[libraries])
    for n in range(3):
        subscriber_make(email=f"politiker{n}@example.se", segments=[politicians])
    # In both segments: counted once.
    subscriber_make(email="bada@example.se", segments=[libraries, politicians])
    # Left out, and counted: suppressed, unsubscribed, print only, not yet confirmed.
    subscriber_make(email="sparrad@example.se", segments=[libraries])
    Suppression.objects.create(
        email="sparrad@example.se",
        email_hash=email_hash("sparrad@example.se"),
        reason=SuppressionReason.BOUNCED,
    )
    subscriber_make(
        email="slutat@example.se", status=SubscriberStatus.UNSUBSCRIBED, segments=[libraries]
    )
    subscriber_make(email="papper@example.se", channel=Channel.PRINT, segments=[politicians])
    subscriber_make(
        email="vantar@example.se", status=SubscriberStatus.PENDING, segments=[libraries]
    )
    return sendable_issue_make()


def test_the_preview_counts_equal_what_planning_inserts(audience):
    preview = dispatch_preview(issue=audience, segment_slugs=["bibliotek", "politiker"])

    assert (preview.members, preview.suppressed, preview.ineligible) == (13, 1, 3)
    assert (preview.already_planned, preview.recipients) == (0, 9)
    by_slug = {segment.slug: (segment.members, segment.mailable) for segment in preview.segments}
    assert by_slug == {"bibliotek": (9, 6), "politiker": (5, 4)}
    dispatch = dispatch_create(issue=audience, segment_slugs=["bibliotek", "politiker"])
    assert dispatch.planned_count == preview.recipients


def test_a_second_dispatch_counts_those_already_reached_as_skipped(audience):
    dispatch_create(issue=audience, segment_slugs=["bibliotek"])

    preview = dispatch_preview(issue=audience, segment_slugs=["bibliotek", "politiker"])

    assert (preview.already_planned, preview.recipients) == (6, 3)
    assert dispatch_create(issue=audience, segment_slugs=["politiker"]).planned_count == 3


def test_dry_run_prints_the_counts_and_creates_nothing(audience, smtp_server):
    out = io.StringIO()

    call_command(
        "send_issue", audience.slug, "--segment", "bibliotek", "--segment", "politiker",
        "--dry-run", stdout=out,
    )  # fmt: skip

    text = out.getvalue()
    assert "Mottagare: 9" in text and "spärrade adresser: 1" in text
    assert "bibliotek: 9 i segmentet, 6 kan få e-post" in text
    assert "Provkörning: ingenting har skapats eller skickats." in text
    assert not Dispatch.objects.exists() and not Delivery.objects.exists()
    assert smtp_server.recipients() == []


def test_a_resend_says_how_many_get_it_again_and_needs_yes(audience):
    first = dispatch_create(issue=audience, segment_slugs=["politiker"])
    Delivery.objects.filter(dispatch=first).update(status=DeliveryStatus.SENT)

    assert resend_preview(dispatch=first).second_time == 4
    with pytest.raises(CommandError, match="4 personer skulle få numret för andra gången"):
        call_command("dispatch_control", str(first.pk), "resend", stdout=io.StringIO())
    assert Dispatch.objects.count() == 1

    call_command("dispatch_control", str(first.pk), "resend", "--yes", stdout=io.StringIO())
    assert Dispatch.objects.get(round=1).planned_count == 4


@pytest.fixture
def editor_client(client):
    client.force_login(staff_user_make(username="redaktor", groups=[EDITORS]))
    return client


def _form(audience, *slugs) -> dict:
    from subscribers.models import Segment

    return {
        "issue": audience.pk,
        "segments": [Segment.objects.get(slug=slug).pk for slug in slugs],
        "scheduled_at_0": "",
        "scheduled_at_1": "",
    }


def test_the_admin_shows_the_counts_first_and_sends_only_when_confirmed(editor_client, audience):
    add = reverse("admin:worker_dispatch_add")

    page = editor_client.post(add, _form(audience, "bibliotek", "politiker"))

    assert page.status_code == 200
    html = page.content.decode()
    assert not Dispatch.objects.exists()
    assert re.search(r'data-count="recipients"><strong>9</strong>', html)
    assert 'data-count="suppressed">1<' in html and 'data-count="ineligible">3<' in html
    assert audience.subject in html
    version = re.search(r'name="_confirmed_version" value="([0-9a-f]+)"', html).group(1)

    done = editor_client.post(
        add, {**_form(audience, "bibliotek", "politiker"), "_confirmed_version": version}
    )

    assert done.status_code == 302
    assert Dispatch.objects.get().planned_count == 9


def test_an_edit_between_the_page_and_the_click_shows_the_page_again(editor_client, audience):
    add = reverse("admin:worker_dispatch_add")
    html = editor_client.post(add, _form(audience, "bibliotek")).content.decode()
    version = re.search(r'name="_confirmed_version" value="([0-9a-f]+)"', html).group(1)
    audience.subject = "Ny ämnesrad"
    audience.save()
    # A second editor approves the new wording: the approval is current, the confirmation not.
    issue_approved(audience)

    again = editor_client.post(add, {**_form(audience, "bibliotek"), "_confirmed_version": version})

    assert again.status_code == 200
    assert "Numret har ändrats" in again.content.decode()
    assert not Dispatch.objects.exists()


def test_a_forged_confirmation_sends_nothing(editor_client, audience):
    response = editor_client.post(
        reverse("admin:worker_dispatch_add"),
        {**_form(audience, "bibliotek"), "_confirmed_version": "<script>alert(1)</script>"},
    )

    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert not Dispatch.objects.exists()


def test_the_admin_resend_button_asks_first_with_the_second_time_count(editor_client, audience):
    first = dispatch_create(issue=audience, segment_slugs=["politiker"])
    Delivery.objects.filter(dispatch=first).update(status=DeliveryStatus.SENT)
    url = reverse("admin:worker_dispatch_control", args=[first.pk, "resend"])

    page = editor_client.post(url)

    assert page.status_code == 200
    assert 'data-count="second_time"><strong>4</strong>' in page.content.decode()
    assert Dispatch.objects.count() == 1
    version = re.search(
        r'name="_confirmed_version" value="([0-9a-f]+)"', page.content.decode()
    ).group(1)
    assert editor_client.post(url, {"_confirmed_version": version}).status_code == 302
    assert Dispatch.objects.filter(round=1).count() == 1
