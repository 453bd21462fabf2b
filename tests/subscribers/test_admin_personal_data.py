"""Personal data leaves the admin only for those who may hand it out: the subscriber list as CSV
and a person's register extract need `subscribers.export_personal_data`; viewing is not enough."""

import io
import zipfile

import pytest
from django.contrib.admin import helpers
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.roles import ADMINISTRATORS, DISTRIBUTION_STAFF, EDITORS, role_groups_sync
from subscribers.models import ConsentAction, ConsentEvent, ConsentSource
from tests.factories import staff_user_make, subscriber_make

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:subscribers_subscriber_changelist"
EXPORTS = ("subscribers_export_csv", "subscriber_export_action")


@pytest.fixture
def reader():
    role_groups_sync()
    reader = subscriber_make(email="maja.ek@jarfalla.se", name="Maja Ek")
    ConsentEvent.objects.create(
        subscriber=reader,
        action=ConsentAction.SUBSCRIBE,
        source=ConsentSource.WEB,
        ip_address="198.51.100.7",
    )
    return reader


def _staff_client(client, *groups: str):
    client.force_login(staff_user_make(username="-".join(groups).lower(), groups=list(groups)))
    return client


def _action(client, action: str, subscriber):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, helpers.ACTION_CHECKBOX_NAME: [subscriber.pk], "index": 0},
    )


@pytest.mark.parametrize("group", [EDITORS, DISTRIBUTION_STAFF])
@pytest.mark.parametrize("action", EXPORTS)
def test_it_refuses_a_personal_data_export_to_staff_who_may_only_view_or_edit(
    client, reader, group, action
):
    staff = _staff_client(client, group)

    response = _action(staff, action, reader)

    assert response.status_code == 403
    assert "maja.ek" not in response.content.decode("utf-8", "replace")
    assert not reader.consent_events.filter(action=ConsentAction.EXPORT).exists()


def test_it_does_not_offer_the_exports_to_an_editor_nor_show_ip_addresses(client, reader):
    editor = staff_user_make(username="redaktor", groups=[EDITORS])
    # Even with the consent log in view, the devices' addresses stay out of sight.
    editor.user_permissions.add(Permission.objects.get(codename="view_consentevent"))
    client.force_login(editor)
    event = reader.consent_events.get()

    changelist = client.get(reverse(CHANGELIST)).content.decode()
    change = client.get(reverse("admin:subscribers_subscriber_change", args=[reader.pk]))
    log_entry = client.get(reverse("admin:subscribers_consentevent_change", args=[event.pk]))

    assert "Maja Ek" in changelist  # viewing is what editors may do
    for action in EXPORTS:
        assert f'value="{action}"' not in changelist
    assert (change.status_code, log_entry.status_code) == (200, 200)
    assert "Anmälan" in change.content.decode()  # the consent log inline is there
    assert "198.51.100.7" not in change.content.decode()
    assert "198.51.100.7" not in log_entry.content.decode()


def test_it_refuses_an_action_name_that_was_never_offered(client, reader):
    staff = _staff_client(client, EDITORS)

    response = _action(staff, "subscribers_unsubscribe", reader)

    assert response.status_code == 403
    assert reader.consent_events.count() == 1


def test_it_lets_an_administrator_export_the_list_and_a_persons_data(client, reader):
    staff = _staff_client(client, ADMINISTRATORS)

    listed = _action(staff, "subscribers_export_csv", reader)
    extract = _action(staff, "subscriber_export_action", reader)
    change = staff.get(reverse("admin:subscribers_subscriber_change", args=[reader.pk]))

    assert listed.status_code == 200
    assert "maja.ek@jarfalla.se" in listed.content.decode("utf-8-sig")
    archive = zipfile.ZipFile(io.BytesIO(extract.content))
    assert "198.51.100.7" in archive.read(f"prenumerant-{reader.pk}.json").decode()
    assert "198.51.100.7" in change.content.decode()


def test_it_gives_the_export_permission_to_the_administrators_only():
    role_groups_sync()

    holders = set(
        Group.objects.filter(permissions__codename="export_personal_data").values_list(
            "name", flat=True
        )
    )

    assert holders == {ADMINISTRATORS}
