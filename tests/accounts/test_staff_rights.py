"""An administrator manages staff within the role groups and can never grant more than they hold:
not superuser status, not a permission of their own choosing, not a group with more rights."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.forms import MultiWidget
from django.urls import reverse

from accounts.models import User
from accounts.roles import ADMINISTRATORS, EDITORS
from tests.factories import staff_user_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrator(client) -> User:
    user = staff_user_make(username="admin.anna", groups=[ADMINISTRATORS])
    client.force_login(user)
    return user


@pytest.fixture
def security_group() -> Group:
    """A group a superuser made with rights the administrators do not have."""
    group = Group.objects.create(name="Säkerhet")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="auth", codename="change_group"),
        Permission.objects.get(content_type__app_label="auth", codename="change_permission"),
    )
    return group


def _change_url(user: User) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def _form_data(response) -> dict:
    """What the browser would post back from the change form as it was shown."""
    form = response.context["adminform"].form
    data = {}
    for bound in form:
        if bound.field.disabled:
            continue
        value = bound.value()
        if isinstance(bound.field.widget, MultiWidget):
            for index, part in enumerate(bound.field.widget.decompress(value)):
                data[f"{bound.html_name}_{index}"] = "" if part is None else str(part)
        elif isinstance(value, bool):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(getattr(item, "pk", item)) for item in value]
        elif value is not None:
            data[bound.html_name] = str(value)
    return data


def _rights(user: User) -> tuple:
    user.refresh_from_db()
    return (
        user.is_superuser,
        user.is_staff,
        sorted(user.groups.values_list("name", flat=True)),
        sorted(user.user_permissions.values_list("codename", flat=True)),
    )


def test_it_shows_an_administrator_superuser_status_and_permissions_read_only(
    client, administrator
):
    response = client.get(_change_url(administrator))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "is_superuser" not in form.fields
    assert "user_permissions" not in form.fields
    assert 'name="is_superuser"' not in response.content.decode()


def test_it_refuses_an_administrator_who_posts_superuser_status_for_themselves(
    client, administrator
):
    data = _form_data(client.get(_change_url(administrator)))
    before = _rights(administrator)

    response = client.post(_change_url(administrator), {**data, "is_superuser": "on"})

    assert response.status_code == 403
    assert _rights(administrator) == before
    assert not User.objects.get(pk=administrator.pk).is_superuser


def test_it_refuses_an_administrator_who_posts_a_permission_for_themselves(client, administrator):
    data = _form_data(client.get(_change_url(administrator)))
    permission = Permission.objects.get(content_type__app_label="auth", codename="change_group")
    before = _rights(administrator)

    response = client.post(
        _change_url(administrator), {**data, "user_permissions": [str(permission.pk)]}
    )

    assert response.status_code == 403
    assert _rights(administrator) == before
    assert not User.objects.get(pk=administrator.pk).has_perm("auth.change_group")


def test_it_refuses_to_put_anyone_into_a_group_with_rights_the_administrator_lacks(
    client, administrator, security_group
):
    editor = staff_user_make(username="redaktor", groups=[EDITORS])
    for target in (administrator, editor):
        data = _form_data(client.get(_change_url(target)))
        before = _rights(target)

        response = client.post(
            _change_url(target), {**data, "groups": [*data["groups"], str(security_group.pk)]}
        )

        assert response.status_code == 200
        assert "Säkerhet" in response.context["adminform"].form.errors["groups"][0]
        assert _rights(target) == before


def test_it_refuses_to_take_anyone_out_of_a_group_with_rights_the_administrator_lacks(
    client, administrator, security_group
):
    guard = staff_user_make(username="vakt", groups=[EDITORS])
    guard.groups.add(security_group)
    data = _form_data(client.get(_change_url(guard)))
    before = _rights(guard)

    response = client.post(
        _change_url(guard), {**data, "groups": [str(Group.objects.get(name=EDITORS).pk)]}
    )

    assert response.status_code == 200
    assert _rights(guard) == before


def test_it_lets_an_administrator_hand_out_the_role_groups(client, administrator):
    newcomer = staff_user_make(username="ny.redaktor")
    data = _form_data(client.get(_change_url(newcomer)))

    response = client.post(
        _change_url(newcomer), {**data, "groups": [str(Group.objects.get(name=EDITORS).pk)]}
    )

    assert response.status_code == 302
    assert _rights(newcomer)[2] == [EDITORS]


def test_it_keeps_an_administrator_away_from_a_superusers_account(client, administrator):
    root = User.objects.create_superuser(username="root", password="hemligt-root-lösen")
    password_hash = root.password
    data = _form_data(client.get(_change_url(root)))

    edited = client.post(_change_url(root), {**data, "is_staff": ""})
    password = client.post(
        reverse("admin:auth_user_password_change", args=[root.pk]),
        {"password1": "nytt-lösenord-42!", "password2": "nytt-lösenord-42!"},
    )
    deleted = client.post(reverse("admin:accounts_user_delete", args=[root.pk]), {"post": "yes"})

    assert (edited.status_code, password.status_code, deleted.status_code) == (403, 403, 403)
    root.refresh_from_db()
    assert (root.is_superuser, root.is_staff, root.password) == (True, True, password_hash)


def test_it_refuses_a_new_user_posted_with_superuser_status(client, administrator):
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "smugglad",
            "password1": "ett-långt-lösenord-42!",
            "password2": "ett-långt-lösenord-42!",
            "usable_password": "true",
            "is_superuser": "on",
        },
    )

    assert response.status_code == 403
    assert not User.objects.filter(username="smugglad").exists()


def test_it_refuses_a_group_permission_change_by_anyone_but_a_superuser(client):
    # Someone who may change groups may rename one whose rights they hold, but never change
    # what a group grants, nor touch a group with rights beyond their own.
    keeper = staff_user_make(username="gruppansvarig")
    keeper.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="auth", codename__in=["change_group", "view_group"]
        )
    )
    readers = Group.objects.create(name="Gruppläsare")
    readers.permissions.add(Permission.objects.get(codename="view_group"))
    client.force_login(keeper)
    url = reverse("admin:auth_group_change", args=[readers.pk])
    every_permission = [str(pk) for pk in Permission.objects.values_list("pk", flat=True)]

    shown = client.get(url)
    forged = client.post(url, {"name": "Gruppläsare", "permissions": every_permission})
    renamed = client.post(url, {"name": "Läsare av grupper"})
    editors = Group.objects.get(name=EDITORS)
    editors_url = reverse("admin:auth_group_change", args=[editors.pk])
    beyond = client.post(editors_url, {"name": "Redaktörer och mer"})

    assert shown.status_code == 200
    assert "permissions" not in shown.context["adminform"].form.fields
    assert (forged.status_code, renamed.status_code, beyond.status_code) == (403, 302, 403)
    readers.refresh_from_db()
    assert readers.name == "Läsare av grupper"
    assert list(readers.permissions.values_list("codename", flat=True)) == ["view_group"]
    assert Group.objects.filter(name=EDITORS).exists()


def test_it_still_lets_a_superuser_grant_superuser_status(admin_client):
    colleague = staff_user_make(username="kollega")
    data = _form_data(admin_client.get(_change_url(colleague)))

    response = admin_client.post(_change_url(colleague), {**data, "is_superuser": "on"})

    assert response.status_code == 302
    assert _rights(colleague)[0] is True
