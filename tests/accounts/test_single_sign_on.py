"""Single sign-on against a real OpenID Connect provider on loopback: the provider's groups
decide the roles at every login, nobody becomes a superuser through it, and the local login
stays for the break-glass administrator."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from accounts.models import SignOnIdentity, User
from accounts.roles import ADMINISTRATORS, DISTRIBUTION_STAFF, EDITORS
from audit.models import ActorKind, AuditAction
from tests.accounts.oidc import identity_provider, sign_on  # noqa: F401
from tests.accounts.staff import logged_in
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
