"""The subscriber admin: Swedish by default, English on request, filters, export, upload page."""

import csv
import io

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from accounts.roles import EDITORS
from subscribers.models import (
    Channel,
    ConsentAction,
    ConsentEvent,
    OrganisationKind,
    Segment,
    Subscriber,
    SubscriberStatus,
    Suppression,
)
from subscribers.validation import email_hash
from tests.factories import organisation_make, segment_make, subscriber_make

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:subscribers_subscriber_changelist"
IMPORT = "admin:subscribers_subscriber_import"


def listed_emails(response) -> set[str]:
    return {subscriber.email for subscriber in response.context["cl"].result_list}


def test_it_speaks_swedish_by_default(admin_client):
    subscriber_make()  # the actions menu only shows when there is something to act on

    response = admin_client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Prenumeranter" in content
    assert "Exportera markerade som CSV" in content
    assert 'lang="sv"' in content


def test_it_offers_the_language_switch_on_every_admin_page(admin_client):
    swedish = admin_client.get(reverse("admin:index")).content.decode()
    assert 'name="language" value="en"' in swedish

    admin_client.post(reverse("set_language"), {"language": "en", "next": "/admin/"})
    english = admin_client.get(reverse("admin:index")).content.decode()
    assert 'name="language" value="sv"' in english


def test_it_speaks_english_after_the_language_is_switched(admin_client):
    switched = admin_client.post(reverse("set_language"), {"language": "en", "next": "/admin/"})
    assert switched.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    subscriber_make()

    content = admin_client.get(reverse(CHANGELIST)).content.decode()

    assert "Subscribers" in content
    assert "Export selected as CSV" in content
    assert "Prenumeranter" not in content


def test_it_filters_by_segment_counting_rule_members_and_explicit_members(admin_client):
    segment = segment_make(
        slug="folkbibliotek-i-lanet", rule_kinds=[OrganisationKind.COUNTY_PUBLIC_LIBRARY]
    )
    library = organisation_make(kind=OrganisationKind.COUNTY_PUBLIC_LIBRARY)
    partner = organisation_make(kind=OrganisationKind.PARTNER, municipality=None)
    subscriber_make(email="bibliotekarie@example.se", organisation=library)
    subscriber_make(email="explicit@example.se", segments=[segment])
    subscriber_make(email="partner@example.org", organisation=partner)

    response = admin_client.get(reverse(CHANGELIST), {"segment": "folkbibliotek-i-lanet"})

    assert listed_emails(response) == {"bibliotekarie@example.se", "explicit@example.se"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"organisation__kind__exact": "partner"}, {"partner@example.org"}),
        ({"status__exact": "unsubscribed"}, {"gone@example.se"}),
        ({"channel__exact": "print"}, {"partner@example.org"}),
        ({"q": "Lindqvist"}, {"anna@example.se"}),
    ],
)
def test_it_filters_by_kind_status_channel_and_searches(admin_client, query, expected):
    library = organisation_make(kind=OrganisationKind.COUNTY_PUBLIC_LIBRARY)
    partner = organisation_make(kind=OrganisationKind.PARTNER, municipality=None)
    subscriber_make(email="anna@example.se", name="Anna Lindqvist", organisation=library)
    subscriber_make(email="partner@example.org", organisation=partner, channel=Channel.PRINT)
    subscriber_make(email="gone@example.se", status=SubscriberStatus.UNSUBSCRIBED)

    response = admin_client.get(reverse(CHANGELIST), query)

    assert listed_emails(response) == expected


def test_it_filters_by_municipality(admin_client):
    solna = organisation_make(municipality="Solna")
    nacka = organisation_make(municipality="Nacka")
    subscriber_make(email="solna@example.se", organisation=solna)
    subscriber_make(email="nacka@example.se", organisation=nacka)

    response = admin_client.get(
        reverse(CHANGELIST), {"organisation__municipality__id__exact": nacka.municipality_id}
    )

    assert listed_emails(response) == {"nacka@example.se"}


def test_it_shows_member_counts_on_segments(admin_client):
    segment = segment_make(slug="partners", rule_kinds=[OrganisationKind.PARTNER])
    partner = organisation_make(kind=OrganisationKind.PARTNER, municipality=None)
    subscriber_make(organisation=partner)
    subscriber_make(organisation=partner)
    subscriber_make(segments=[segment])

    response = admin_client.get(reverse("admin:subscribers_segment_changelist"))

    assert response.status_code == 200
    assert '<td class="field-member_count">3</td>' in response.content.decode()


def test_it_never_offers_to_edit_or_delete_the_consent_log(admin_client):
    subscriber = subscriber_make()
    event = ConsentEvent.objects.create(subscriber=subscriber, action="import", source="import")

    assert admin_client.get(reverse("admin:subscribers_consentevent_add")).status_code == 403
    delete = reverse("admin:subscribers_consentevent_delete", args=[event.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    change = reverse("admin:subscribers_consentevent_change", args=[event.pk])
    admin_client.post(change, {"action": "erase", "source": "admin"})
    assert ConsentEvent.objects.get().action == "import"


def test_it_logs_a_staff_edit_in_the_consent_log(admin_client):
    subscriber = subscriber_make(email="anna@example.se", name="Anna")
    url = reverse("admin:subscribers_subscriber_change", args=[subscriber.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None}
    data.update(
        name="Anna Lindqvist",
        segments=[],
        organisation="",
        **{
            "consent_events-TOTAL_FORMS": "0",
            "consent_events-INITIAL_FORMS": "0",
        },
    )

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    event = ConsentEvent.objects.get(subscriber=subscriber)
    assert event.action == ConsentAction.ADMIN
    assert event.detail["changed"] == ["name"]


def test_it_exports_the_selection_as_excel_friendly_csv_without_protected_people(admin_client):
    library = organisation_make(
        name="Solna stadsbibliotek", street="Bibliotekstorget 1", postal_code="171 45"
    )
    subscriber_make(email="anna@example.se", name="Anna Lindqvist", organisation=library)
    subscriber_make(email="evil@example.se", name='=HYPERLINK("http://x")', title="+46 8 123")
    subscriber_make(email="skyddad@example.se", name="Skyddad", protected_identity=True)

    response = admin_client.post(
        reverse(CHANGELIST),
        {
            "action": "subscribers_export_csv",
            "_selected_action": list(Subscriber.objects.values_list("pk", flat=True)),
        },
    )

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["e-postadress", "namn", "titel/roll"]
    by_email = {row[0]: row for row in rows[1:]}
    assert set(by_email) == {"anna@example.se", "evil@example.se"}
    assert by_email["anna@example.se"][3] == "Solna stadsbibliotek"
    assert by_email["anna@example.se"][7] == "171 45"  # the organisation's address applies
    assert by_email["evil@example.se"][1] == '\'=HYPERLINK("http://x")'
    assert by_email["evil@example.se"][2] == "'+46 8 123"


def test_it_links_the_upload_page_from_the_changelist(admin_client):
    content = admin_client.get(reverse(CHANGELIST)).content.decode()

    assert reverse(IMPORT) in content


def test_it_refuses_the_upload_page_to_anyone_who_is_not_staff(client):
    client.force_login(User.objects.create_user(username="reader", password="x"))

    response = client.get(reverse(IMPORT))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_it_refuses_the_upload_page_to_staff_without_permission_to_add(client):
    editor = User.objects.create_user(username="redaktor", password="x", is_staff=True)
    editor.groups.add(Group.objects.get(name=EDITORS))
    client.force_login(editor)

    assert client.get(reverse(CHANGELIST)).status_code == 200
    assert client.get(reverse(IMPORT)).status_code == 403


@pytest.mark.parametrize(
    "model", ["organisation", "subscriber", "segment", "consentevent", "suppression", "region"]
)
def test_it_renders_every_subscriber_admin_page_with_demo_data(admin_client, model):
    call_command("seed_demo", stdout=io.StringIO())
    model_class = apps.get_model("subscribers", model)
    instance = model_class.objects.first()

    listing = admin_client.get(reverse(f"admin:subscribers_{model}_changelist"))
    detail = admin_client.get(reverse(f"admin:subscribers_{model}_change", args=[instance.pk]))

    assert listing.status_code == 200
    assert detail.status_code == 200


def test_it_saves_a_segment_with_a_rule_chosen_from_checkboxes(admin_client):
    response = admin_client.post(
        reverse("admin:subscribers_segment_add"),
        {"name": "Partner", "slug": "partner", "rule_kinds": ["partner", "other"]},
    )

    assert response.status_code == 302
    assert Segment.objects.get(slug="partner").rule_kinds == ["partner", "other"]


def test_it_suppresses_an_address_added_by_staff(admin_client):
    response = admin_client.post(
        reverse("admin:subscribers_suppression_add"),
        {"email": " Spam@Example.se ", "reason": "manual"},
    )

    assert response.status_code == 302
    assert Suppression.objects.get().email_hash == email_hash("spam@example.se")


def test_it_changes_a_status_only_through_the_unsubscribe_action(admin_client):
    subscriber = subscriber_make(email="anna@example.se")
    change_url = reverse("admin:subscribers_subscriber_change", args=[subscriber.pk])
    form = admin_client.get(change_url).context["adminform"].form
    assert "status" not in form.fields  # shown, but not editable

    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "subscribers_unsubscribe", "_selected_action": [subscriber.pk]},
        follow=True,
    )

    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == "unsubscribed"
    assert Suppression.objects.filter(email_hash=subscriber.email_hash).exists()
    assert subscriber.consent_events.filter(action="unsubscribe", source="admin").exists()
