"""DKIM signing when a key is configured: the signature verifies against the public key."""

import base64
import subprocess

import dkim
import pytest

from tests.factories import sendable_issue_make
from worker.testsend import dispatch_test_send

pytestmark = pytest.mark.django_db


def test_it_signs_with_dkim_when_a_key_is_configured(smtp_server, settings, tmp_path):
    key = tmp_path / "dkim.pem"
    subprocess.run(
        ["openssl", "genrsa", "-traditional", "-out", str(key), "2048"],
        check=True,
        capture_output=True,
    )
    public_der = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    settings.EMAIL_URL = smtp_server.url
    settings.DKIM_PRIVATE_KEY_PATH = str(key)
    settings.DKIM_SELECTOR = "lansnytt"
    settings.DKIM_DOMAIN = "example.org"

    dispatch_test_send(issue=sendable_issue_make(), emails=["granskare@example.se"])

    [(_, raw)] = smtp_server.received
    assert raw.startswith(b"DKIM-Signature:")
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public_der)

    def dns(name, timeout=5):
        assert name == b"lansnytt._domainkey.example.org."
        return record

    assert dkim.verify(raw, dnsfunc=dns)
    assert not dkim.verify(raw.replace(b"Subject: ", b"Subject: X"), dnsfunc=dns)
