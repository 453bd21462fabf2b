"""The list hygiene page: blocked addresses and why, organisations left without an active
contact, print readers without a valid address; for the staff who fix lists, no one else."""

import pytest

from accounts.roles import DISTRIBUTION_STAFF, EDITORS, role_groups_sync
from subscribers.models import Channel, SubscriberStatus, Suppression, SuppressionReason
from tests.factories import organisation_make, staff_user_make, subscriber_make

pytestmark = pytest.mark.django_db

URL = "/personal/listvard/"


@pytest.fixture
def lists():
    role_groups_sync()
    gone = organisation_make(name="Nedlagda filialen")
    subscriber_make(
        email="studs@filialen.se", name="Bo Studs", status=SubscriberStatus.BOUNCED,
        organisation=gone,
    )  # fmt: skip
    subscriber_make(
        email="slutat@filialen.se", status=SubscriberStatus.UNSUBSCRIBED, organisation=gone
    )
    Suppression.objects.create(email="studs@filialen.se", reason=SuppressionReason.BOUNCED)
    Suppression.objects.create(email="slutat@filialen.se", reason=SuppressionReason.UNSUBSCRIBED)
    # After an erasure only the hash is left.
    Suppression.objects.create(email_hash="ab" * 32, reason=SuppressionReason.ERASED)
    organisation_make(name="Tomma biblioteket")  # no contacts at all
    lively = organisation_make(name="Levande biblioteket")
    subscriber_make(email="aktiv@levande.se", organisation=lively)
    subscriber_make(
        email="tryck@example.se", name="Tora Tryck", channel=Channel.PRINT,
        street="Storgatan 1", postal_code="", city="Solna",
    )  # fmt: skip
    subscriber_make(
        email="rattadress@example.se", name="Rut Rätt", channel=Channel.PRINT,
        street="Storgatan 2", postal_code="171 45", city="Solna",
    )  # fmt: skip


@pytest.fixture
def distribution_client(client):
    client.force_login(staff_user_make(username="tryck", groups=[DISTRIBUTION_STAFF]))
    return client


def _section(page: str, table_id: str) -> str:
    return page.split(f'<table id="{table_id}">', 1)[1].split("</table>", 1)[0]


def test_it_lists_blocked_addresses_with_the_reason_and_nothing_more(distribution_client, lists):
    page = distribution_client.get(URL).content.decode()

    blocked = _section(page, "sparrade")
    assert "Spärrade adresser (3)" in page
    assert "studs@filialen.se</th><td>Studsad</td>" in blocked
    assert "slutat@filialen.se</th><td>Avregistrerad</td>" in blocked
    assert "(raderad)</th><td>Raderad på begäran</td>" in blocked
    assert "Bo Studs" not in page  # the address and the reason are enough to act on


def test_it_lists_organisations_left_without_an_active_contact(distribution_client, lists):
    page = distribution_client.get(URL).content.decode()

    organisations = _section(page, "organisationer")
    assert "Nedlagda filialen" in organisations
    assert "Tomma biblioteket" in organisations
    assert "Levande biblioteket" not in organisations
    # Two contacts: one bounced, one unsubscribed, none pending.
    row = organisations.split("Nedlagda filialen", 1)[1].split("</tr>", 1)[0]
    assert row.count('<td class="number">') == 4
    assert '<td class="number">2</td><td class="number">1</td><td class="number">1</td>' in row


def test_it_lists_print_readers_without_a_valid_address_and_why(distribution_client, lists):
    page = distribution_client.get(URL).content.decode()

    to_fix = _section(page, "tryck-att-atgarda")
    assert "Tora Tryck" in to_fix and "adress saknar postnummer" in to_fix
    assert "Rut Rätt" not in to_fix


def test_it_is_only_for_staff_who_may_change_subscribers(client, lists):
    assert client.get(URL).status_code == 302  # to the login page
    client.force_login(staff_user_make(username="redaktor", groups=[EDITORS]))

    assert client.get(URL).status_code == 403
