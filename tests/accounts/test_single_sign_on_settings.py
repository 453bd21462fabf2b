"""Single sign-on is off until configured, says so loudly when configured in part, and decides
with OIDC_TRUST_IDP_MFA whether the provider's login counts as the second factor."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.checks import sign_on_settings_check
from tests.accounts.oidc import identity_provider, sign_on  # noqa: F401
from tests.project.test_settings_checks import PRODUCTION_ENV, manage

pytestmark = pytest.mark.django_db

BUTTON = "Logga in med regionens konto"
ADMIN_INDEX = reverse("admin:index")


def test_it_shows_no_sign_on_button_and_answers_404_while_not_configured(client):
    page = client.get(reverse("admin:login"))

    assert page.status_code == 200
    assert BUTTON not in page.content.decode()
    assert client.get(reverse("oidc_authentication_init")).status_code == 404
    assert (
        client.get(reverse("oidc_authentication_callback"), {"code": "x", "state": "y"}).status_code
        == 404
    )


def test_it_shows_the_sign_on_button_on_the_admin_login_when_configured(
    identity_provider,  # noqa: F811
    settings,
    client,
):
    identity_provider.rp_settings(settings)

    page = client.get(reverse("admin:login"), {"next": "/admin/newsletter/issue/"})

    html = page.content.decode()
    assert BUTTON in html
    assert 'href="/oidc/authenticate/?next=%2Fadmin%2Fnewsletter%2Fissue%2F"' in html


def test_it_starts_the_login_at_the_provider_with_state_nonce_and_pkce(
    identity_provider,  # noqa: F811
    settings,
    client,
):
    identity_provider.rp_settings(settings)

    response = client.get(reverse("oidc_authentication_init"))

    location = response["Location"]
    assert location.startswith(f"{identity_provider.issuer}/authorize/?")
    for parameter in ("state=", "nonce=", "code_challenge=", "code_challenge_method=S256"):
        assert parameter in location
    assert "redirect_uri=http%3A%2F%2Ftestserver%2Foidc%2Fcallback%2F" in location


def test_it_asks_for_the_totp_code_after_sign_on_when_the_providers_mfa_is_not_trusted(
    identity_provider,  # noqa: F811
    settings,
):
    identity_provider.rp_settings(settings)
    settings.STAFF_REQUIRE_2FA = True
    settings.OIDC_TRUST_IDP_MFA = False
    identity_provider.person("karin.lindqvist", ["lansnytt-redaktorer"])
    client = Client()

    sign_on(client, username="karin.lindqvist")

    response = client.get(ADMIN_INDEX)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("twofactor:verify"))


def test_it_reports_an_incomplete_configuration_by_name(settings):
    settings.OIDC_RP_CLIENT_ID = "lansnytt"
    settings.OIDC_OP_ISSUER = "https://login.region.example.se"

    errors = sign_on_settings_check(None)

    assert [error.id for error in errors] == ["accounts.E010"]
    message = errors[0].msg
    for missing in (
        "OIDC_RP_CLIENT_SECRET",
        "OIDC_OP_AUTHORIZATION_ENDPOINT",
        "OIDC_OP_TOKEN_ENDPOINT",
        "OIDC_OP_USER_ENDPOINT",
        "OIDC_OP_JWKS_ENDPOINT",
        "OIDC_ROLE_MAPPING",
    ):
        assert missing in message
    assert "OIDC_OP_ISSUER" not in message


def test_it_reports_a_mapping_to_a_role_that_does_not_exist(identity_provider, settings):  # noqa: F811
    identity_provider.rp_settings(settings)
    settings.DEBUG = True  # the loopback provider's http is the next test's subject
    settings.OIDC_ROLE_MAPPING = {"lansnytt-chefer": "chefer", "lansnytt-red": "editors"}

    assert [error.id for error in sign_on_settings_check(None)] == ["accounts.E011"]


def test_it_reports_nothing_for_a_complete_configuration_and_nothing_while_off(
    identity_provider,  # noqa: F811
    settings,
):
    assert sign_on_settings_check(None) == []
    identity_provider.rp_settings(settings)
    # The provider on loopback speaks http: accepted with DEBUG on (the demo), refused off
    # (pytest-django runs with DEBUG off).
    settings.DEBUG = True
    assert sign_on_settings_check(None) == []
    settings.DEBUG = False
    assert [error.id for error in sign_on_settings_check(None)] == ["accounts.E013"]


def test_it_refuses_http_provider_endpoints_when_debug_is_off(tmp_path):
    env = {
        **PRODUCTION_ENV,
        "OIDC_RP_CLIENT_ID": "lansnytt",
        "OIDC_RP_CLIENT_SECRET": "hemlig",
        "OIDC_OP_ISSUER": "https://login.region.example.se/oidc",
        "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://login.region.example.se/oidc/authorize",
        "OIDC_OP_TOKEN_ENDPOINT": "http://login.region.example.se/oidc/token",
        "OIDC_OP_USER_ENDPOINT": "https://login.region.example.se/oidc/userinfo",
        "OIDC_OP_JWKS_ENDPOINT": "http://login.region.example.se/oidc/jwks",
        "OIDC_ROLE_MAPPING": "lansnytt-redaktorer=editors",
    }

    result = manage("check", "--deploy", env=env, tmp_path=tmp_path)

    assert result.returncode != 0
    assert "accounts.E013" in result.stderr
    assert "OIDC_OP_TOKEN_ENDPOINT, OIDC_OP_JWKS_ENDPOINT not https" in result.stderr
    assert "accounts.E010" not in result.stderr


def test_it_prints_the_endpoint_settings_from_the_providers_discovery_document(
    identity_provider,  # noqa: F811
    settings,
):
    out = io.StringIO()

    call_command("oidc_discover", identity_provider.issuer, stdout=out)

    printed = dict(
        line.split("=", 1) for line in out.getvalue().splitlines() if not line.startswith("#")
    )
    identity_provider.rp_settings(settings)
    for name in (
        "OIDC_OP_ISSUER",
        "OIDC_OP_AUTHORIZATION_ENDPOINT",
        "OIDC_OP_TOKEN_ENDPOINT",
        "OIDC_OP_USER_ENDPOINT",
        "OIDC_OP_JWKS_ENDPOINT",
    ):
        assert printed[name] == getattr(settings, name)
    assert printed["OIDC_RP_SIGN_ALGO"] == "RS256"
    assert f"{settings.SITE_URL}/oidc/callback/" in out.getvalue()


def test_it_refuses_a_discovery_document_that_names_another_issuer(identity_provider):  # noqa: F811
    with pytest.raises(CommandError, match="names the issuer"):
        call_command("oidc_discover", identity_provider.issuer + "/", stdout=io.StringIO())
