"""Logins, failed logins and every change of a staff member's rights leave one audit entry,
naming who did it; a failed login's entry never holds the password typed."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import ADMINISTRATORS, EDITORS, role_groups_sync
from audit.models import ActorKind, AuditAction
from tests.accounts.staff import STRONG_PASSWORD, admin_login, staff_make
from tests.audit.trail import entries, the_entry, trail_text

pytestmark = pytest.mark.django_db


def test_it_records_a_login_through_the_admin_form(client):
    user = staff_make(username="redaktor")

    admin_login(client, username="redaktor", password=STRONG_PASSWORD)

    entry = the_entry(AuditAction.LOGIN)
    assert (entry.actor_id, entry.actor_label) == (user.pk, "redaktor")
    assert entry.actor_kind == ActorKind.USER


def test_it_records_a_failed_login_by_the_name_typed_and_never_the_password(client):
    staff_make(username="redaktor")

    admin_login(client, username="redaktor", password="hemligt-fel-lösenord")

    entry = the_entry(AuditAction.LOGIN_FAILED)
    assert entry.object_label == "redaktor"
    assert entry.actor_kind == ActorKind.SYSTEM
    assert "hemligt-fel-lösenord" not in trail_text()
    assert not entries(AuditAction.LOGIN)


@pytest.fixture
def superuser_client(client):
    role_groups_sync()
    superuser = staff_make(username="root", superuser=True)
    client.force_login(superuser)
    return client, superuser


def test_it_records_a_role_given_in_the_admin_with_who_gave_it(superuser_client):
    client, superuser = superuser_client
    editor = staff_make(username="redaktor")

    editor.groups.add(Group.objects.get(name=EDITORS))

    entry = the_entry(AuditAction.ROLE_CHANGE)
    assert entry.object_id == str(editor.pk)
    assert entry.detail == {"change": "add", "names": [EDITORS]}
    # Outside a request (here: the test itself, like a shell) nobody is named.
    assert entry.actor_kind == ActorKind.SYSTEM


def test_it_names_the_administrator_who_changed_a_role_through_the_admin(superuser_client):
    client, superuser = superuser_client
    editor = staff_make(username="redaktor")
    url = reverse("admin:accounts_user_change", args=[editor.pk])
    form = client.get(url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and not isinstance(value, list | tuple)
    }
    data.update(
        username="redaktor",
        is_active="on",
        is_staff="on",
        groups=[str(Group.objects.get(name=ADMINISTRATORS).pk)],
        last_login_0="",
        last_login_1="",
        date_joined_0="2026-01-01",
        date_joined_1="08:00:00",
    )
    data.pop("password", None)
    data.pop("user_permissions", None)

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = the_entry(AuditAction.ROLE_CHANGE)
    assert (entry.actor_kind, entry.actor_id) == (ActorKind.USER, superuser.pk)
    assert ADMINISTRATORS in entry.detail["names"]


def test_it_records_permissions_given_to_a_user_and_to_a_group():
    user = staff_make(username="redaktor")
    permission = Permission.objects.get(codename="export_personal_data")
    group = Group.objects.create(name="Särskilda")

    user.user_permissions.add(permission)
    group.permissions.add(permission)
    group.permissions.clear()

    found = entries(AuditAction.PERMISSION_CHANGE)
    assert [(entry.object_type, entry.detail["change"]) for entry in found] == [
        ("accounts.user", "add"),
        ("auth.group", "add"),
        ("auth.group", "clear"),
    ]
    assert found[0].detail["names"] == ["subscribers.export_personal_data"]


def test_it_records_a_user_added_to_a_group_from_the_groups_side():
    user = staff_make(username="redaktor")
    group = Group.objects.create(name="Särskilda")

    group.user_set.add(user)

    entry = the_entry(AuditAction.ROLE_CHANGE)
    assert entry.object_type == "auth.group"
    assert entry.detail == {"change": "add", "names": ["redaktor"]}


def test_it_records_superuser_and_staff_status_changes_once_each():
    user = staff_make(username="redaktor")
    assert the_entry(AuditAction.STATUS_FLAGS_CHANGE).detail == {
        "is_staff": {"before": False, "after": True}
    }

    user.is_superuser = True
    user.save()
    user.first_name = "Rut"
    user.save()  # no change of rights: no entry

    found = entries(AuditAction.STATUS_FLAGS_CHANGE)
    assert len(found) == 2
    assert found[1].detail == {"is_superuser": {"before": False, "after": True}}
    assert found[1].object_id == str(user.pk)


def test_it_records_a_superuser_made_on_the_command_line(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", STRONG_PASSWORD)
    call_command("createsuperuser", username="chef", email="chef@example.se", interactive=False)

    entry = the_entry(AuditAction.STATUS_FLAGS_CHANGE)
    assert entry.object_label == "chef"
    assert entry.detail["is_superuser"] == {"before": False, "after": True}
    assert User.objects.get(username="chef").is_superuser


def _user_action(client, action: str, user):
    return client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": action, "_selected_action": [str(user.pk)]},
    )


def test_it_records_an_unlock_and_the_end_of_sessions_by_the_administrator(superuser_client):
    client, superuser = superuser_client
    editor = staff_make(username="redaktor")
    admin_login(Client(), username="redaktor", password="fel-1")

    _user_action(client, "unlock_action", editor)
    _user_action(client, "sessions_end_action", editor)

    unlock, ended = the_entry(AuditAction.ACCOUNT_UNLOCK), the_entry(AuditAction.SESSIONS_END)
    for entry in (unlock, ended):
        assert (entry.actor_id, entry.object_id) == (superuser.pk, str(editor.pk))
    assert unlock.detail == {"attempts": 1}
