"""With STAFF_REQUIRE_2FA on (its default when DEBUG is off) a password alone reaches nothing
but the second step: enrolling an app, or giving its code or a recovery code."""

import os
import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.staff import (
    STRONG_PASSWORD,
    admin_login,
    staff_make,
    totp_code,
    totp_enrol,
)
from tests.commands import manage_run
from tests.project.test_settings_checks import PRODUCTION_ENV

pytestmark = pytest.mark.django_db

VERIFY = reverse("twofactor:verify")
SETUP = reverse("twofactor:setup")


@pytest.fixture(autouse=True)
def _required(settings):
    settings.STAFF_REQUIRE_2FA = True


@pytest.fixture
def editor():
    return staff_make(username="redaktor", superuser=True)


def _password_only(user) -> Client:
    client = Client()
    assert admin_login(client, username=user.username, password=STRONG_PASSWORD).status_code == 302
    return client


@pytest.mark.parametrize(
    "path",
    [
        reverse("admin:index"),
        reverse("admin:subscribers_subscriber_changelist"),
        reverse("admin:accounts_user_changelist"),
        "/personal/tryck/2018-1/",
    ],
)
def test_it_refuses_every_staff_page_to_a_forced_login_without_a_code(editor, path):
    client = Client()
    client.force_login(editor)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)


def test_it_refuses_an_admin_action_posted_with_only_the_password(editor):
    other = staff_make(username="tryck")
    client = _password_only(editor)

    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [str(other.pk)], "post": "yes"},
    )

    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)
    assert type(other).objects.filter(pk=other.pk).exists()


def test_it_has_the_admin_site_check_the_second_factor_itself(editor, rf):
    from django.contrib import admin

    request = rf.get("/admin/")
    request.user = editor
    request.user.is_verified = lambda: False

    assert admin.site.has_permission(request) is False


def test_it_enrols_an_app_with_a_qr_code_and_gives_recovery_codes(editor):
    client = _password_only(editor)

    assert client.get(reverse("admin:index"))["Location"].startswith(VERIFY)
    page = client.get(VERIFY, follow=True)
    content = page.content.decode()
    assert page.redirect_chain[-1][0].startswith(SETUP)
    assert "<svg" in content
    # No inline script or handler: the strict Content-Security-Policy allows neither.
    assert not re.search(r"<script(?![^>]*\ssrc=)|\son[a-z]+=", content)
    device = TOTPDevice.objects.get(user=editor, confirmed=False)

    done = client.post(SETUP, {"token": totp_code(device), "next": "/admin/"})

    codes = done.context["codes"]
    assert len(codes) == 10
    assert all(code in done.content.decode() for code in codes)
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get(reverse("admin:index")).status_code == 200


def test_it_refuses_enrolment_with_a_wrong_code(editor):
    client = _password_only(editor)
    client.get(SETUP)

    response = client.post(SETUP, {"token": "000000"})

    assert "Koden stämmer inte." in response.content.decode()
    assert not TOTPDevice.objects.filter(user=editor, confirmed=True).exists()
    assert client.get(reverse("admin:index")).status_code == 302


def test_it_does_not_let_a_password_alone_add_an_app_to_an_enrolled_account(editor):
    totp_enrol(editor)
    client = _password_only(editor)

    page = client.get(SETUP)
    # Even with an unconfirmed device made behind the view's back, confirming is refused.
    stray = TOTPDevice.objects.create(user=editor, name="angripare", confirmed=False)
    session = client.session
    session["accounts_totp_enrolment"] = stray.pk
    session.save()
    posted = client.post(SETUP, {"token": totp_code(stray)})

    assert page["Location"].startswith(VERIFY)
    assert posted["Location"].startswith(VERIFY)
    assert not TOTPDevice.objects.get(pk=stray.pk).confirmed
    assert client.get(reverse("admin:index")).status_code == 302


def test_it_logs_in_with_the_apps_code(editor):
    device, _ = totp_enrol(editor)
    client = _password_only(editor)

    response = client.post(VERIFY, {"token": totp_code(device), "next": "/admin/"})

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get(reverse("admin:index")).status_code == 200


def test_it_refuses_a_wrong_code_and_then_makes_the_next_try_wait(editor):
    device, _ = totp_enrol(editor)
    client = _password_only(editor)

    wrong = client.post(VERIFY, {"token": "123456"})
    right_too_soon = client.post(VERIFY, {"token": totp_code(device)})

    assert "Koden stämmer inte." in wrong.content.decode()
    assert "För många felaktiga koder. Vänta till" in right_too_soon.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302


def test_it_refuses_the_same_code_a_second_time(editor):
    device, _ = totp_enrol(editor)
    code = totp_code(device)
    first = _password_only(editor)
    assert first.post(VERIFY, {"token": code}).status_code == 302

    second = _password_only(editor)
    response = second.post(VERIFY, {"token": code})

    assert response.status_code == 200
    assert second.get(reverse("admin:index")).status_code == 302


def test_it_accepts_each_recovery_code_once(editor):
    _, codes = totp_enrol(editor)
    first = _password_only(editor)
    assert first.post(VERIFY, {"token": codes[0].upper()}).status_code == 302
    assert first.get(reverse("admin:index")).status_code == 200

    second = _password_only(editor)
    response = second.post(VERIFY, {"token": codes[0]})

    assert "Koden stämmer inte." in response.content.decode()


def test_it_does_not_follow_a_next_link_to_another_site(editor):
    device, _ = totp_enrol(editor)
    client = _password_only(editor)

    response = client.post(
        VERIFY, {"token": totp_code(device), "next": "https://angripare.example/"}
    )

    assert response["Location"] == reverse("admin:index")


def test_it_lets_a_half_logged_in_user_log_out(editor):
    client = _password_only(editor)

    response = client.post(reverse("twofactor:logout"))

    assert response["Location"] == reverse("admin:login")
    assert "_auth_user_id" not in client.session


def test_it_lets_staff_in_without_a_code_when_the_setting_is_off(editor, settings):
    settings.STAFF_REQUIRE_2FA = False
    client = Client()
    client.force_login(editor)

    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize(("debug", "required"), [("false", "True"), ("true", "False")])
def test_it_requires_two_factor_by_default_exactly_when_debug_is_off(tmp_path, debug, required):
    inherited = {key: value for key, value in os.environ.items() if key != "STAFF_REQUIRE_2FA"}
    env = {**inherited, **PRODUCTION_ENV, "DEBUG": debug, "VAR_DIR": str(tmp_path)}

    result = manage_run(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.STAFF_REQUIRE_2FA)",
        env=env,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == required


def test_it_warns_the_deploy_check_when_production_turns_two_factor_off(tmp_path):
    inherited = {
        key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env = {**inherited, **PRODUCTION_ENV, "STAFF_REQUIRE_2FA": "false", "VAR_DIR": str(tmp_path)}

    result = manage_run("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode != 0
    assert "accounts.W001" in result.stderr
