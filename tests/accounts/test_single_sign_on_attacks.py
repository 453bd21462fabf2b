"""Single sign-on under attack: answers from the provider that this browser did not ask for,
replayed or altered, tokens for another issuer or another application, and the local login
as the break-glass way in. The provider is the real one on loopback (tests/accounts/oidc.py)."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.sso.backend import RegionSignOnBackend
from accounts.sso.services import SignOnRefused
from audit.models import AuditAction
from tests.accounts.oidc import (  # noqa: F401
    NO_PKCE_CLIENT_ID,
    OTHER_CLIENT_ID,
    OTHER_CLIENT_SECRET,
    OTHER_REDIRECT_URI,
    PASSWORD,
    callback_get,
    identity_provider,
    provider_answer,
    sign_on,
    sign_on_start,
)
from tests.accounts.staff import STRONG_PASSWORD, admin_login, logged_in, totp_code, totp_enrol
from tests.audit.trail import entries, the_entry

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = reverse("admin:login")
ADMIN_INDEX = reverse("admin:index")


@pytest.fixture
def provider(identity_provider, settings):  # noqa: F811
    identity_provider.rp_settings(settings)
    settings.STAFF_REQUIRE_2FA = True
    identity_provider.person("karin.lindqvist", ["lansnytt-redaktorer"])
    return identity_provider


def _with_query(location: str, **changes: str) -> str:
    parts = urlsplit(location)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def _refused(response, client, reason: str) -> None:
    assert response.status_code == 302
    assert response["Location"] == ADMIN_LOGIN
    assert not logged_in(client)
    assert not User.objects.filter(username="karin.lindqvist").exists()
    assert entries(AuditAction.LOGIN_FAILED)[-1].detail["reason"] == reason


def test_it_refuses_an_answer_with_a_forged_state(provider):
    client = Client()
    location = provider_answer(
        requests.Session(), sign_on_start(client), username="karin.lindqvist"
    )

    response = callback_get(client, _with_query(location, state=secrets.token_urlsafe(24)))

    _refused(response, client, "state")


def test_it_refuses_an_answer_whose_state_was_altered(provider):
    client = Client()
    location = provider_answer(
        requests.Session(), sign_on_start(client), username="karin.lindqvist"
    )
    state = parse_qs(urlsplit(location).query)["state"][0]
    altered = state[:-1] + ("A" if state[-1] != "A" else "B")

    response = callback_get(client, _with_query(location, state=altered))

    _refused(response, client, "state")


def test_it_refuses_an_answer_made_for_another_browser(provider):
    """Login CSRF: the attacker finishes the provider's part in their own browser and has the
    victim open the callback, to log the victim into the attacker's account."""
    attacker = Client()
    location = provider_answer(
        requests.Session(), sign_on_start(attacker), username="karin.lindqvist"
    )
    victim = Client()

    response = callback_get(victim, location)

    _refused(response, victim, "state")


def test_it_refuses_a_replayed_answer_after_the_login(provider):
    client = Client()
    location = provider_answer(
        requests.Session(), sign_on_start(client), username="karin.lindqvist"
    )
    assert callback_get(client, location)["Location"] == ADMIN_INDEX
    client.post(reverse("admin:logout"))
    assert not logged_in(client)

    response = callback_get(client, location)

    assert response["Location"] == ADMIN_LOGIN
    assert not logged_in(client)
    assert entries(AuditAction.LOGIN_FAILED)[-1].detail["reason"] == "state"
    assert len(entries(AuditAction.LOGIN)) == 1


def test_it_refuses_the_code_of_one_login_attempt_with_the_state_of_another(provider):
    """Two attempts in one browser: the code of the first, the state of the second. PKCE
    binds the code to the first attempt's verifier, so the provider refuses to redeem it."""
    client = Client()
    browser = requests.Session()
    first = provider_answer(browser, sign_on_start(client), username="karin.lindqvist")
    second = provider_answer(browser, sign_on_start(client), username="karin.lindqvist")
    first_code = parse_qs(urlsplit(first).query)["code"][0]

    response = callback_get(client, _with_query(second, code=first_code))

    _refused(response, client, "provider")


def test_it_refuses_a_token_whose_nonce_belongs_to_another_login_attempt(provider, settings):
    """The same swap without PKCE (a provider that does not offer it): the ID token carries
    the first attempt's nonce, and the session expects the second's."""
    settings.OIDC_RP_CLIENT_ID = NO_PKCE_CLIENT_ID
    settings.OIDC_USE_PKCE = False
    client = Client()
    browser = requests.Session()
    first = provider_answer(browser, sign_on_start(client), username="karin.lindqvist")
    second = provider_answer(browser, sign_on_start(client), username="karin.lindqvist")
    first_code = parse_qs(urlsplit(first).query)["code"][0]

    response = callback_get(client, _with_query(second, code=first_code))

    _refused(response, client, "nonce")


def test_it_signs_on_with_the_nonce_alone_when_pkce_is_off(provider, settings):
    # The counterpart of the test above: that client and setting do log in.
    settings.OIDC_RP_CLIENT_ID = NO_PKCE_CLIENT_ID
    settings.OIDC_USE_PKCE = False

    response = sign_on(Client(), username="karin.lindqvist")

    assert response["Location"] == ADMIN_INDEX


def test_it_refuses_a_token_from_another_issuer(provider, settings):
    # The provider's tokens name its own issuer; the site expects the region's.
    settings.OIDC_OP_ISSUER = "https://login.region.example.se/oidc"
    client = Client()

    response = sign_on(client, username="karin.lindqvist")

    _refused(response, client, "wrong_issuer")


def _id_token_for_another_application(provider) -> tuple[str, str]:
    """A genuine ID token of the same provider for the same person, issued to the intranet
    application: what a hostile or careless second application could hand on."""
    browser = requests.Session()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    nonce = secrets.token_urlsafe(16)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": OTHER_CLIENT_ID,
            "redirect_uri": OTHER_REDIRECT_URI,
            "scope": "openid email profile",
            "state": secrets.token_urlsafe(16),
            "nonce": nonce,
            "code_challenge": challenge.decode().rstrip("="),
            "code_challenge_method": "S256",
        }
    )
    location = provider_answer(
        browser, f"{provider.issuer}/authorize/?{query}", username="karin.lindqvist"
    )
    tokens = requests.post(
        f"{provider.issuer}/token/",
        data={
            "grant_type": "authorization_code",
            "code": parse_qs(urlsplit(location).query)["code"][0],
            "redirect_uri": OTHER_REDIRECT_URI,
            "client_id": OTHER_CLIENT_ID,
            "client_secret": OTHER_CLIENT_SECRET,
            "code_verifier": verifier,
        },
        timeout=30,
    )
    tokens.raise_for_status()
    return tokens.json()["id_token"], nonce


def test_it_refuses_an_id_token_issued_to_another_application(provider):
    id_token, nonce = _id_token_for_another_application(provider)

    with pytest.raises(SignOnRefused) as refused:
        RegionSignOnBackend().verify_token(id_token, nonce=nonce)

    assert refused.value.reason == "wrong_audience"


def test_it_refuses_an_id_token_whose_signature_was_altered(provider):
    id_token, nonce = _id_token_for_another_application(provider)
    header, payload, signature = id_token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"

    with pytest.raises(SignOnRefused) as refused:
        RegionSignOnBackend().verify_token(forged, nonce=nonce)

    assert refused.value.reason == "id_token"


def test_it_does_not_redeem_a_code_posted_to_the_password_login(provider):
    """The password form with ?code=…&state=… in its address never asks the provider: the
    code stays unused and the real callback still redeems it."""
    client = Client()
    location = provider_answer(
        requests.Session(), sign_on_start(client), username="karin.lindqvist"
    )
    query = urlsplit(location).query

    refused = client.post(
        f"{ADMIN_LOGIN}?{query}", {"username": "karin.lindqvist", "password": "gissning"}
    )

    assert refused.status_code == 200 and not logged_in(client)
    assert callback_get(client, location)["Location"] == ADMIN_INDEX


def test_it_keeps_the_break_glass_login_with_password_and_code(provider):
    admin = User.objects.create_superuser(
        username="nodkonto", email="it@regionbibliotek.example.se", password=STRONG_PASSWORD
    )
    device, _ = totp_enrol(admin)
    client = Client()

    password_step = admin_login(client, username="nodkonto", password=STRONG_PASSWORD)

    assert password_step.status_code == 302
    # The password alone is not enough, also with single sign-on configured.
    assert client.get(ADMIN_INDEX)["Location"].startswith(reverse("twofactor:verify"))
    done = client.post(reverse("twofactor:verify"), {"token": totp_code(device), "next": "/admin/"})
    assert done["Location"] == ADMIN_INDEX
    assert client.get(ADMIN_INDEX).status_code == 200
    assert the_entry(AuditAction.LOGIN).detail == {}


def test_it_refuses_the_password_login_to_an_account_made_by_sign_on(provider):
    sign_on(Client(), username="karin.lindqvist")
    client = Client()

    # Not even with the password the person uses at the provider: the account has none.
    response = admin_login(client, username="karin.lindqvist", password=PASSWORD)

    assert response.status_code == 200
    assert not logged_in(client)


def test_it_refuses_sign_on_from_an_address_the_lockout_has_refused(provider, settings):
    client = Client()
    location = provider_answer(
        requests.Session(), sign_on_start(client), username="karin.lindqvist"
    )
    # Guessing passwords for several names from this address, at the default limit.
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        admin_login(Client(), username=f"gissning{attempt}", password="fel-lösenord")

    response = callback_get(client, location)

    assert response.status_code == 429
    assert "Inloggningen är spärrad" in response.content.decode()
    assert not logged_in(client)
    assert not User.objects.filter(username="karin.lindqvist").exists()
    assert entries(AuditAction.LOGIN_FAILED)[-1].detail == {
        "method": "sso",
        "reason": "locked_out",
    }
