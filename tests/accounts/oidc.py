"""The region's identity provider in the single sign-on tests: django-oauth-toolkit's OpenID
Connect provider (tests/accounts/oidc_provider/) as its own process on a loopback port, with
its own SQLite database and an RSA key made for the run; and a person's browser at it (a
requests.Session: the provider's login form, then its consent page).

Our site is driven with Django's test client as in the other account tests; every request
between our site and the provider (token, JWKS, userinfo) goes over real HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django.urls import reverse

from tests.commands import ROOT

CLIENT_ID = "lansnytt"
CLIENT_SECRET = "lansnytt-klienthemlighet-for-testerna"
# The address Django's test client calls our site by: what the admin registers at the IdP.
REDIRECT_URI = "http://testserver/oidc/callback/"
# Another application at the same provider, whose tokens are not meant for us.
OTHER_CLIENT_ID = "intranatet"
OTHER_CLIENT_SECRET = "intranatets-klienthemlighet"
OTHER_REDIRECT_URI = "http://intranat.example/callback"
# Our site registered once more, at a provider that lets this client leave PKCE out: only so
# that a test can show the nonce alone refusing a code from another login attempt.
NO_PKCE_CLIENT_ID = "lansnytt-utan-pkce"
PASSWORD = "regionens-lösenord-för-testet"

# IdP groups as a region's directory names them, and the mapping the site is configured with.
ROLE_MAPPING = {
    "lansnytt-redaktorer": "editors",
    "lansnytt-distribution": "distribution",
    "lansnytt-admin": "Administratörer",
}


@dataclass
class IdentityProvider:
    url: str
    env: dict[str, str]

    @property
    def issuer(self) -> str:
        return f"{self.url}/o"

    def provision(self, *, users: list[dict] = (), clients: list[dict] = ()) -> None:
        spec = json.dumps({"users": list(users), "clients": list(clients)})
        subprocess.run(
            [sys.executable, "-m", "tests.accounts.oidc_provider.provision", spec],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def person(self, username: str, groups: list[str], **fields) -> None:
        """A person at the provider with exactly these groups (made or changed)."""
        fields.setdefault("email", f"{username}@region.example.se")
        self.provision(users=[{"username": username, "password": PASSWORD, "groups": groups,
                               **fields}])  # fmt: skip

    def rp_settings(self, settings) -> None:
        """Configure our site for this provider, as the OIDC_* variables would."""
        settings.OIDC_RP_CLIENT_ID = CLIENT_ID
        settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
        settings.OIDC_OP_ISSUER = self.issuer
        settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{self.issuer}/authorize/"
        settings.OIDC_OP_TOKEN_ENDPOINT = f"{self.issuer}/token/"
        settings.OIDC_OP_USER_ENDPOINT = f"{self.issuer}/userinfo/"
        settings.OIDC_OP_JWKS_ENDPOINT = f"{self.issuer}/.well-known/jwks.json"
        settings.OIDC_ROLE_MAPPING = dict(ROLE_MAPPING)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def identity_provider(tmp_path_factory):
    home = tmp_path_factory.mktemp("oidc-provider")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = home / "signing-key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.accounts.oidc_provider.settings",
        "OIDC_PROVIDER_DB": str(home / "provider.sqlite3"),
        "OIDC_PROVIDER_KEY_FILE": str(key_file),
        "OIDC_PROVIDER_ISSUER": f"{url}/o",
    }
    provider = IdentityProvider(url=url, env=env)
    provider.provision(
        clients=[
            {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uri": REDIRECT_URI},
            {"client_id": OTHER_CLIENT_ID, "client_secret": OTHER_CLIENT_SECRET,
             "redirect_uri": OTHER_REDIRECT_URI},
            {"client_id": NO_PKCE_CLIENT_ID, "client_secret": CLIENT_SECRET,
             "redirect_uri": REDIRECT_URI},
        ]
    )  # fmt: skip
    log = open(home / "provider.log", "wb")  # noqa: SIM115 (open for the process's lifetime)
    process = subprocess.Popen(
        [sys.executable, "-m", "django", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_up(f"{provider.issuer}/.well-known/openid-configuration", process, home)
        yield provider
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _wait_until_up(url: str, process: subprocess.Popen, home: Path) -> None:
    deadline = time.monotonic() + 60  # a slow start on a busy machine, not a speed target
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((home / "provider.log").read_text())
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"the identity provider did not start: {(home / 'provider.log').read_text()}"
    )


class _Forms(HTMLParser):
    """The forms of a page: action and the values of their named inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attributes.get("action") or "", "fields": {}})
        elif tag == "input" and self.forms and attributes.get("name"):
            if attributes.get("type") != "submit":
                self.forms[-1]["fields"][attributes["name"]] = attributes.get("value") or ""


def page_form(html: str) -> dict:
    parser = _Forms()
    parser.feed(html)
    assert parser.forms, html[:2000]
    return parser.forms[0]


def provider_answer(
    browser: requests.Session, authorize_url: str, *, username: str, allow: bool = True
) -> str:
    """The person follows our redirect to the provider, logs in there and answers the consent
    page; returns where the provider sends the browser back (our callback, with code and
    state), without following it."""
    page = browser.get(authorize_url, timeout=30)
    if "/accounts/login/" in page.url:
        form = page_form(page.text)
        page = browser.post(
            page.url,
            data={**form["fields"], "username": username, "password": PASSWORD},
            timeout=30,
        )
    assert "authorizationForm" in page.text, page.text[:2000]
    form = page_form(page.text)
    data = dict(form["fields"])
    if allow:
        data["allow"] = "Authorize"
    answer = browser.post(page.url, data=data, allow_redirects=False, timeout=30)
    assert answer.status_code == 302, answer.text[:2000]
    return answer.headers["Location"]


def sign_on_start(client: Client, *, next_url: str = "/admin/") -> str:
    """Our site's redirect to the provider, as the login page's button starts it."""
    response = client.get(reverse("oidc_authentication_init"), {"next": next_url})
    assert response.status_code == 302, response
    return response["Location"]


def callback_get(client: Client, location: str):
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT_URI, location
    return client.get(f"{parts.path}?{parts.query}")


def sign_on(client: Client, *, username: str, next_url: str = "/admin/"):
    """The whole authorization-code flow for a person; returns our callback's response."""
    browser = requests.Session()
    location = provider_answer(browser, sign_on_start(client, next_url=next_url), username=username)
    return callback_get(client, location)
