"""What purging an issue's deliveries must not break: a resend or a new dispatch of it is
refused (nobody can tell who got it), bounces naming a purged delivery are ignored, and the
unsubscribe links in its messages still work and still count."""

import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from subscribers.models import ConsentAction, ConsentEvent, ConsentSource, SubscriberStatus
from subscribers.tokens import unsubscribe_url
from tests.reports.scenario import TEN, report_scenario_make
from tests.sending import bounce_samples as samples
from worker.bounces.intake import bounce_message_process
from worker.models import Delivery, Dispatch
from worker.reports import dispatch_report
from worker.retention import issue_deliveries_seal, records_purge
from worker.services import dispatch_create, dispatch_resend
from worker.verp import verp_address

pytestmark = pytest.mark.django_db

LATER = TEN + dt.timedelta(days=400)
BOUNCES = "bounces@lansnytt.example.org"


@pytest.fixture
def purged():
    scenario = report_scenario_make()
    scenario["deliveries"] = {
        delivery.email: (delivery.pk, delivery.subscriber_id)
        for delivery in Delivery.objects.filter(dispatch=scenario["dispatch"])
    }
    records_purge(now=LATER)
    return scenario


def test_a_resend_of_a_purged_issue_is_refused_saying_why(purged):
    with pytest.raises(ValidationError, match="har gallrats"):
        dispatch_resend(dispatch=purged["dispatch"])

    assert Dispatch.objects.filter(issue=purged["issue"]).count() == 1


def test_a_new_dispatch_of_a_purged_issue_is_refused_in_the_service_and_the_command(purged):
    with pytest.raises(ValidationError, match="skulle skicka det till alla igen"):
        dispatch_create(issue=purged["issue"], segment_slugs=["folkbibliotek"])
    with pytest.raises(CommandError, match="har gallrats"):
        call_command("send_issue", purged["issue"].slug, "--all-segments", stdout=io.StringIO())
    with pytest.raises(CommandError, match="har gallrats"):
        call_command("dispatch_control", str(purged["dispatch"].pk), "resend", stdout=io.StringIO())

    assert Dispatch.objects.filter(issue=purged["issue"]).count() == 1
    assert not Delivery.objects.filter(issue=purged["issue"]).exists()


def test_a_scheduled_dispatch_made_before_the_purge_cannot_start_after_it(purged):
    # Made before the purge (the purge would otherwise have waited for it), started after.
    late = Dispatch.objects.create(issue=purged["issue"])
    with pytest.raises(ValidationError, match="har gallrats"):
        from worker.services import dispatch_start

        dispatch_start(dispatch=late)

    assert not Delivery.objects.filter(dispatch=late).exists()


def test_a_verp_bounce_naming_a_purged_delivery_is_ignored(purged, settings):
    settings.BOUNCE_ADDRESS = BOUNCES
    delivery_id, subscriber_id = purged["deliveries"]["karin.lind@solna.se"]
    before = dispatch_report(dispatch=purged["dispatch"]).totals

    outcome = bounce_message_process(
        raw=samples.hard_dsn(
            recipient="karin.lind@solna.se",
            message_id=f"lansnytt.d{delivery_id}@lansnytt.example.org",
            to=verp_address(delivery_id=delivery_id),
        ),
        source=ConsentSource.BOUNCE_FILE,
    )

    assert outcome.status == "ignored"
    assert "no longer exists" in outcome.text
    assert dispatch_report(dispatch=purged["dispatch"]).totals == before
    from subscribers.models import Subscriber

    assert Subscriber.objects.get(pk=subscriber_id).status == SubscriberStatus.ACTIVE


def test_a_bounce_by_message_id_of_a_purged_delivery_is_not_put_on_another(purged):
    delivery_id, _ = purged["deliveries"]["per.holm@solna.se"]

    outcome = bounce_message_process(
        raw=samples.hard_dsn(
            recipient="per.holm@solna.se",
            message_id=f"lansnytt.d{delivery_id}@lansnytt.example.org",
            to=BOUNCES,
        ),
        source=ConsentSource.BOUNCE_FILE,
    )

    assert outcome.status == "ignored"


def test_a_bounce_for_a_row_sealed_but_not_yet_deleted_is_ignored():
    scenario = report_scenario_make()
    issue_deliveries_seal(issue_id=scenario["issue"].pk, cutoff=LATER - dt.timedelta(days=365))
    delivery = Delivery.objects.get(email="karin.lind@solna.se")

    outcome = bounce_message_process(
        raw=samples.hard_dsn(
            recipient=delivery.email,
            message_id=f"lansnytt.d{delivery.pk}@lansnytt.example.org",
            to="bounces@lansnytt.example.org",
        ),
        source=ConsentSource.BOUNCE_FILE,
    )

    assert outcome.status == "ignored" and "purged" in outcome.text
    assert Delivery.objects.get(pk=delivery.pk).bounced_at is None


def test_an_unsubscribe_link_of_a_purged_dispatch_still_works_and_counts(purged, client):
    _, subscriber_id = purged["deliveries"]["karin.lind@solna.se"]
    before = dispatch_report(dispatch=purged["dispatch"]).totals.unsubscribed
    url = unsubscribe_url(
        subscriber_id=subscriber_id,
        email="karin.lind@solna.se",
        dispatch_id=purged["dispatch"].pk,
    )
    path = url[url.index("/avregistrera/") :]

    response = client.post(path, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert ConsentEvent.objects.filter(
        subscriber_id=subscriber_id, action=ConsentAction.UNSUBSCRIBE
    ).exists()
    assert dispatch_report(dispatch=purged["dispatch"]).totals.unsubscribed == before + 1
    assert reverse("subscribers:unsubscribe", args=["x"])  # the route's shape is unchanged


@pytest.fixture
def editor_client(client):
    from accounts.roles import EDITORS, role_groups_sync
    from tests.factories import staff_user_make

    role_groups_sync()
    client.force_login(staff_user_make(username="redaktor", groups=[EDITORS]))
    return client


def test_the_admin_refuses_a_resend_and_a_new_dispatch_of_a_purged_issue(purged, editor_client):
    resend = editor_client.post(
        reverse("admin:worker_dispatch_control", args=[purged["dispatch"].pk, "resend"]),
        follow=True,
    )
    add = editor_client.post(
        reverse("admin:worker_dispatch_add"), {"issue": purged["issue"].pk, "segments": []}
    )

    assert "har gallrats" in resend.content.decode()
    assert add.status_code == 200 and "har gallrats" in add.content.decode()
    assert Dispatch.objects.filter(issue=purged["issue"]).count() == 1
