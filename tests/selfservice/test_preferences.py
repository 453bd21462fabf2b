"""The preference centre: every change is logged; copies for organisations wait for staff."""

import pytest

from subscribers.models import (
    ConsentAction,
    CopyChangeRequest,
    CopyChangeRequestStatus,
    SubscriberStatus,
)
from subscribers.services import RequestOrigin, copy_change_request_decide
from tests.factories import organisation_make, segment_make, subscriber_make
from tests.selfservice.links import preferences_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def segments():
    return {
        "nyheter": segment_make(slug="nyheter", name="Nyheter", public=True),
        "kurser": segment_make(slug="kurser", name="Kurser", public=True),
        "styrelse": segment_make(slug="styrelse", name="Styrelsen", public=False),
    }


def preferences_data(**overrides) -> dict:
    data = {"channel": "email", "language": "sv", "street": "", "postal_code": "", "city": ""}
    data.update(overrides)
    return data


def test_it_changes_segments_channel_language_and_address_and_logs_before_and_after(
    client, segments
):
    reader = subscriber_make(segments=[segments["nyheter"], segments["styrelse"]])

    response = client.post(
        preferences_path(reader),
        preferences_data(
            segments=[segments["kurser"].pk],
            channel="email+print",
            language="en",
            street="Hemvägen 3",
            postal_code="13140",
            city="Nacka",
        ),
        HTTP_USER_AGENT="Firefox",
    )

    assert response.status_code == 200
    assert "Dina ändringar är sparade" in response.content.decode()
    reader.refresh_from_db()
    assert (reader.channel, reader.language, reader.postal_code) == ("email+print", "en", "131 40")
    # Staff-given memberships are not the reader's to remove from a public form.
    assert set(reader.segments.values_list("slug", flat=True)) == {"kurser", "styrelse"}
    event = reader.consent_events.get()
    assert event.action == ConsentAction.PREFERENCES
    assert event.user_agent == "Firefox"
    assert event.detail["before"]["segments"] == ["nyheter", "styrelse"]
    assert event.detail["after"]["segments"] == ["kurser", "styrelse"]
    assert event.detail["before"]["channel"] == "email"
    assert event.detail["after"]["city"] == "Nacka"


def test_it_logs_nothing_when_nothing_changed(client, segments):
    reader = subscriber_make(segments=[segments["nyheter"]])

    client.post(preferences_path(reader), preferences_data(segments=[segments["nyheter"].pk]))

    assert not reader.consent_events.exists()


def test_it_shows_the_current_choices(client, segments):
    reader = subscriber_make(segments=[segments["kurser"]], language="en")

    html = client.get(preferences_path(reader)).content.decode()

    kurser_input = html.split(f'value="{segments["kurser"].pk}"')[1].split(">")[0]
    assert "checked" in kurser_input
    assert "Styrelsen" not in html


def test_it_turns_an_organisation_contacts_copy_change_into_a_request_for_staff(client):
    library = organisation_make(name="Sollentuna bibliotek", municipality="Sollentuna")
    contact = subscriber_make(organisation=library, channel="print", print_copies=2)

    client.post(preferences_path(contact), preferences_data(channel="print", print_copies=5))

    contact.refresh_from_db()
    assert contact.print_copies == 2
    change = CopyChangeRequest.objects.get()
    # Without an own address the contact is served on the organisation's line (3 copies).
    assert (change.copies_before, change.copies_requested, change.organisation) == (3, 5, library)
    assert change.status == CopyChangeRequestStatus.PENDING
    assert contact.consent_events.get().detail["print_copies_requested"] == 5

    assert copy_change_request_decide(change_request=change, approve=True, origin=RequestOrigin())
    assert not copy_change_request_decide(
        change_request=change, approve=False, origin=RequestOrigin()
    )
    library.refresh_from_db()
    assert library.print_copies == 5
    assert contact.consent_events.filter(action=ConsentAction.ADMIN).count() == 1


def test_it_applies_an_approved_copy_change_to_a_contacts_own_address(client):
    library = organisation_make(name="Tyresö bibliotek", municipality="Tyresö")
    contact = subscriber_make(
        organisation=library,
        channel="print",
        print_copies=2,
        street="Hemvägen 3",
        postal_code="135 40",
        city="Tyresö",
    )

    client.post(
        preferences_path(contact),
        preferences_data(
            channel="print",
            print_copies=4,
            street="Hemvägen 3",
            postal_code="135 40",
            city="Tyresö",
        ),
    )
    change = CopyChangeRequest.objects.get()
    assert change.copies_before == 2
    copy_change_request_decide(change_request=change, approve=True, origin=RequestOrigin())

    contact.refresh_from_db()
    library.refresh_from_db()
    assert (contact.print_copies, library.print_copies) == (4, 3)


def test_it_replaces_a_pending_copy_request_with_the_newer_wish(client):
    contact = subscriber_make(organisation=organisation_make(), channel="print")

    client.post(preferences_path(contact), preferences_data(channel="print", print_copies=4))
    client.post(preferences_path(contact), preferences_data(channel="print", print_copies=6))

    assert list(CopyChangeRequest.objects.values_list("copies_requested", flat=True)) == [6]


def test_it_does_not_offer_copies_to_a_private_reader(client):
    reader = subscriber_make(channel="print", street="Ågatan 1", postal_code="111 22", city="X")

    html = client.get(preferences_path(reader)).content.decode()
    client.post(
        preferences_path(reader),
        preferences_data(
            channel="print", street="Ågatan 1", postal_code="111 22", city="X", print_copies=9
        ),
    )

    assert 'name="print_copies"' not in html
    assert not CopyChangeRequest.objects.exists()


def test_it_rejects_a_bad_postnummer_with_the_error_tied_to_the_field(client):
    reader = subscriber_make()

    response = client.post(
        preferences_path(reader),
        preferences_data(channel="print", street="Gatan 1", postal_code="0123", city="Täby"),
    )

    html = response.content.decode()
    assert "ogiltigt postnummer" in html
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_postal_code_error id_postal_code_helptext"' in html
    reader.refresh_from_db()
    assert reader.channel == "email"
    assert not reader.consent_events.exists()


def test_it_does_not_edit_the_choices_of_an_unsubscribed_reader(client):
    reader = subscriber_make(status=SubscriberStatus.UNSUBSCRIBED)

    response = client.post(preferences_path(reader), preferences_data(channel="print"))

    assert response.status_code == 200
    assert "Prenumerera igen" in response.content.decode()
    reader.refresh_from_db()
    assert reader.channel == "email"
