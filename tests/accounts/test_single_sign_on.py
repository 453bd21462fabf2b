"""Single sign-on against a real OpenID Connect provider on loopback: the provider's groups
decide the roles at every login, nobody becomes a superuser through it, and the local login
stays for the break-glass administrator."""

import pytest
import requests
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from accounts.models import SignOnIdentity, User
from accounts.roles import ADMINISTRATORS, DISTRIBUTION_STAFF, EDITORS
from audit.models import ActorKind, AuditAction
from tests.accounts.oidc import (  # noqa: F401
    callback_get,
    identity_provider,
    provider_answer,
    sign_on,
    sign_on_start,
)
from tests.accounts.staff import STRONG_PASSWORD, logged_in
from tests.audit.trail import entries, the_entry

pytestmark = pytest.mark.django_db

ADMIN_INDEX = reverse("admin:index")


@pytest.fixture
def provider(identity_provider, settings):  # noqa: F811
    identity_provider.rp_settings(settings)
    # On, as in production: the provider's login stands for the second factor.
    settings.STAFF_REQUIRE_2FA = True
    return identity_provider


def test_it_creates_the_staff_user_with_the_mapped_roles_at_the_first_login(provider):
    provider.person("karin.lindqvist", ["lansnytt-redaktorer", "lansnytt-distribution", "alla"],
                    first_name="Karin", last_name="Lindqvist")  # fmt: skip
    client = Client()

    response = sign_on(client, username="karin.lindqvist")

    assert response.status_code == 302
    assert response["Location"] == ADMIN_INDEX
    user = User.objects.get(username="karin.lindqvist")
    assert sorted(user.groups.values_list("name", flat=True)) == [DISTRIBUTION_STAFF, EDITORS]
    assert (user.is_staff, user.is_superuser) == (True, False)
    assert (user.first_name, user.last_name) == ("Karin", "Lindqvist")
    assert not user.has_usable_password()
    identity = SignOnIdentity.objects.get(user=user)
    assert identity.issuer == provider.issuer
    # Without a TOTP code: the admin opens.
    assert client.get(ADMIN_INDEX).status_code == 200
    login = the_entry(AuditAction.LOGIN)
    assert login.actor_id == user.pk
    assert login.detail == {
        "method": "sso",
        "issuer": provider.issuer,
        "roles": [DISTRIBUTION_STAFF, EDITORS],
    }
    role_entry = the_entry(AuditAction.ROLE_CHANGE)
    assert role_entry.detail == {"change": "add", "names": [DISTRIBUTION_STAFF, EDITORS]}
    assert role_entry.actor_kind == ActorKind.SYSTEM
    assert role_entry.actor_label == f"regionens inloggning ({provider.issuer})"


def test_it_removes_a_role_at_a_later_login_when_the_provider_took_the_group_away(provider):
    provider.person("anders.berg", ["lansnytt-redaktorer", "lansnytt-distribution"])
    sign_on(Client(), username="anders.berg")
    provider.person("anders.berg", ["lansnytt-distribution"])

    response = sign_on(Client(), username="anders.berg")

    assert response["Location"] == ADMIN_INDEX
    user = User.objects.get(username="anders.berg")
    assert list(user.groups.values_list("name", flat=True)) == [DISTRIBUTION_STAFF]
    removal = entries(AuditAction.ROLE_CHANGE)[-1]
    assert removal.detail == {"change": "remove", "names": [EDITORS]}
    assert removal.actor_label == f"regionens inloggning ({provider.issuer})"
    assert len(entries(AuditAction.LOGIN)) == 2


def test_it_replaces_roles_given_locally_with_the_providers(provider):
    provider.person("lisa.ek", ["lansnytt-redaktorer"])
    sign_on(Client(), username="lisa.ek")
    user = User.objects.get(username="lisa.ek")
    # An administrator gave her more in the admin; the provider says otherwise.
    user.groups.add(Group.objects.get(name=ADMINISTRATORS))

    sign_on(Client(), username="lisa.ek")

    assert list(user.groups.values_list("name", flat=True)) == [EDITORS]


def test_it_gives_no_account_to_a_person_whose_groups_map_to_no_role(provider):
    provider.person("olle.svensson", ["alla-anstallda", "bibliotek-sodertalje"])
    client = Client()

    response = sign_on(client, username="olle.svensson")

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:login")
    assert not logged_in(client)
    assert not User.objects.filter(username="olle.svensson").exists()
    failure = the_entry(AuditAction.LOGIN_FAILED)
    assert failure.object_label == "olle.svensson"
    assert failure.detail == {
        "method": "sso",
        "reason": "no_role",
        "groups": ["alla-anstallda", "bibliotek-sodertalje"],
    }
    page = client.get(reverse("admin:login"))
    assert "ger ingen behörighet i Länsnytt" in page.content.decode()
    assert client.get(ADMIN_INDEX).status_code == 302


def test_it_takes_every_role_and_staff_access_from_a_person_who_left_the_groups(provider):
    provider.person("eva.holm", ["lansnytt-admin"])
    sign_on(Client(), username="eva.holm")
    provider.person("eva.holm", ["alla-anstallda"])
    client = Client()

    response = sign_on(client, username="eva.holm")

    assert response["Location"] == reverse("admin:login")
    user = User.objects.get(username="eva.holm")
    assert (user.is_staff, list(user.groups.all())) == (False, [])
    assert not logged_in(client)
    assert client.get(ADMIN_INDEX).status_code == 302
    assert entries(AuditAction.ROLE_CHANGE)[-1].detail == {
        "change": "remove",
        "names": [ADMINISTRATORS],
    }
    assert entries(AuditAction.LOGIN_FAILED)[-1].detail["reason"] == "no_role"


def test_it_never_makes_a_superuser_through_sign_on(provider):
    provider.person("chef", ["lansnytt-admin"])
    sign_on(Client(), username="chef")
    user = User.objects.get(username="chef")
    assert (user.is_superuser, list(user.groups.values_list("name", flat=True))) == (
        False,
        [ADMINISTRATORS],
    )
    # Made a superuser in the admin (or the shell): the next sign-on takes it back.
    User.objects.filter(pk=user.pk).update(is_superuser=True)

    sign_on(Client(), username="chef")

    user.refresh_from_db()
    assert user.is_superuser is False
    assert entries(AuditAction.STATUS_FLAGS_CHANGE)[-1].detail == {
        "is_superuser": {"before": True, "after": False}
    }


def test_it_refuses_an_address_the_provider_says_is_unverified(provider):
    provider.person("ny.person", ["lansnytt-redaktorer"], email_verified=False)
    client = Client()

    response = sign_on(client, username="ny.person")

    assert response["Location"] == reverse("admin:login")
    assert not logged_in(client)
    assert not User.objects.filter(username="ny.person").exists()
    assert the_entry(AuditAction.LOGIN_FAILED).detail == {
        "method": "sso",
        "reason": "email_unverified",
    }


def test_it_never_logs_in_a_local_account_by_its_username_or_address(provider):
    """Whoever can name themselves "admin" at the provider, with the break-glass
    administrator's address, still gets an account of their own."""
    local = User.objects.create_superuser(
        username="admin", email="it@regionbibliotek.example.se", password=STRONG_PASSWORD
    )
    provider.person("admin", ["lansnytt-redaktorer"], email="it@regionbibliotek.example.se")
    client = Client()

    sign_on(client, username="admin")

    assert int(client.session["_auth_user_id"]) != local.pk
    signed_on = SignOnIdentity.objects.get().user
    assert signed_on.username.startswith("admin-sso-")
    local.refresh_from_db()
    assert (local.is_superuser, local.has_usable_password()) == (True, True)
    assert not SignOnIdentity.objects.filter(user=local).exists()


def test_it_sends_the_person_on_to_the_admin_page_they_asked_for(provider):
    provider.person("karin.lindqvist", ["lansnytt-redaktorer"])
    wanted = reverse("admin:newsletter_issue_changelist")

    response = sign_on(Client(), username="karin.lindqvist", next_url=wanted)

    assert response["Location"] == wanted


@pytest.mark.parametrize(
    "next_url",
    ["https://angripare.example/admin/", "//angripare.example/", "/\\angripare.example/"],
)
def test_it_never_sends_the_person_to_another_site_after_the_login(provider, next_url):
    provider.person("karin.lindqvist", ["lansnytt-redaktorer"])

    response = sign_on(Client(), username="karin.lindqvist", next_url=next_url)

    assert response.status_code == 302
    assert response["Location"] == ADMIN_INDEX


def test_it_records_a_cancelled_consent_as_a_failed_sign_on(provider):
    provider.person("karin.lindqvist", ["lansnytt-redaktorer"])
    client = Client()
    browser = requests.Session()

    location = provider_answer(
        browser, sign_on_start(client), username="karin.lindqvist", allow=False
    )
    response = callback_get(client, location)

    assert "error=access_denied" in location
    assert response["Location"] == reverse("admin:login")
    assert not logged_in(client)
    assert the_entry(AuditAction.LOGIN_FAILED).detail == {
        "method": "sso",
        "reason": "provider_error",
        "error": "access_denied",
    }


def test_it_shows_the_providers_subject_on_the_user_page_without_letting_it_be_changed(
    provider, settings
):
    provider.person("karin.lindqvist", ["lansnytt-redaktorer"])
    sign_on(Client(), username="karin.lindqvist")
    user = User.objects.get(username="karin.lindqvist")
    identity = SignOnIdentity.objects.get(user=user)
    root = User.objects.create_superuser(username="root", password=STRONG_PASSWORD)
    admin_client = Client()
    admin_client.force_login(root)
    settings.STAFF_REQUIRE_2FA = False  # a forced login has given no code

    page = admin_client.get(reverse("admin:accounts_user_change", args=[user.pk]))

    html = page.content.decode()
    assert f"{identity.subject} @ {provider.issuer}" in html
    assert 'name="sign_on_identity' not in html
