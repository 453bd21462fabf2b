"""In chromium: a staff member logs in with the password, enrols an app from the QR page,
keeps the recovery codes, logs out, and logs in again with the password and a fresh code."""

import time
from base64 import b32decode

import pytest
from django_otp.oath import TOTP

from tests.accounts.staff import STRONG_PASSWORD, staff_make
from tests.browsing import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _code_from_secret(secret: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for the key the page printed under the QR code."""
    compact = secret.replace(" ", "")
    key = b32decode(compact + "=" * (-len(compact) % 8))
    totp = TOTP(key, step=30, t0=0, digits=6)
    totp.time = time.time() + steps_ahead * 30
    return f"{totp.token():06d}"


def _log_in_with_password(page, url: str) -> None:
    page.goto(url + "/admin/")
    page.get_by_label("Användarnamn").fill("redaktor")
    page.get_by_label("Lösenord").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="Logga in").click()


def test_it_enrols_an_app_logs_out_and_logs_in_with_a_code(
    browser, live_server, settings, artefacts_dir
):
    settings.STAFF_REQUIRE_2FA = True
    staff_make(username="redaktor", superuser=True)
    context = browser.new_context(viewport={"width": 800, "height": 1000}, locale="sv-SE")
    page = context.new_page()
    try:
        _log_in_with_password(page, live_server.url)

        page.wait_for_url("**/personal/tvastegs/aktivera/**")
        assert page.get_by_role("heading", name="Aktivera tvåstegsverifiering").is_visible()
        assert page.get_by_role("img", name="QR-kod för autentiseringsappen").is_visible()
        page.screenshot(path=artefacts_dir / "two-factor-enrol.png", full_page=True)
        assert axe_violations(page) == []
        secret = page.locator(".twofactor-secret").inner_text()
        page.get_by_label("Kod", exact=True).fill(_code_from_secret(secret))
        page.get_by_role("button", name="Aktivera").click()

        assert page.get_by_role("heading", name="Dina reservkoder").is_visible()
        assert page.locator(".twofactor-codes li").count() == 10
        page.screenshot(path=artefacts_dir / "two-factor-recovery-codes.png", full_page=True)
        assert axe_violations(page) == []
        page.get_by_role("link", name="Jag har sparat koderna, fortsätt").click()
        assert page.get_by_role("heading", name="Regionbibliotek Stockholm").is_visible()

        page.get_by_role("button", name="Logga ut").click()
        assert page.get_by_role("heading", name="Utloggad").is_visible()

        _log_in_with_password(page, live_server.url)
        page.wait_for_url("**/personal/tvastegs/?**")
        page.screenshot(path=artefacts_dir / "two-factor-verify.png", full_page=True)
        assert axe_violations(page) == []
        # The code used for enrolment cannot be used again; the app's next one is accepted.
        page.get_by_label("Kod", exact=True).fill(_code_from_secret(secret, steps_ahead=1))
        page.get_by_role("button", name="Logga in").click()

        assert page.get_by_role("heading", name="Regionbibliotek Stockholm").is_visible()
        page.screenshot(path=artefacts_dir / "two-factor-logged-in.png", full_page=True)
    finally:
        context.close()
