"""Guessing passwords at the admin login: after 5 wrong ones for a username, or from one
address, the login is refused for 15 minutes even with the right password (django-axes)."""

import logging
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt, AccessFailureLog
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from tests.accounts.staff import STRONG_PASSWORD, admin_login, logged_in, staff_make

pytestmark = pytest.mark.django_db

REFUSAL = "Inloggningen är tillfälligt spärrad efter 5 felaktiga försök."


def _guess(client, *, username: str, times: int = 5, **headers) -> None:
    """Wrong passwords; the one that reaches the limit is already answered with the refusal."""
    for attempt in range(times):
        response = admin_login(client, username=username, password=f"fel-{attempt}", **headers)
        assert response.status_code in (200, 429)


def test_it_refuses_the_right_password_after_five_wrong_ones(client):
    staff_make(username="redaktor")
    for attempt in range(4):
        wrong = admin_login(client, username="redaktor", password=f"fel-{attempt}")
        assert wrong.status_code == 200
    assert admin_login(client, username="redaktor", password="fel-4").status_code == 429

    response = admin_login(client, username="redaktor", password=STRONG_PASSWORD)

    assert response.status_code == 429
    content = response.content.decode()
    assert REFUSAL in content
    assert "Försök igen om 15 minuter." in content
    assert not logged_in(client)


def test_it_still_lets_in_the_right_password_after_four_wrong_ones(client):
    staff_make(username="redaktor")
    _guess(client, username="redaktor", times=4)

    response = admin_login(client, username="redaktor", password=STRONG_PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)


def test_it_refuses_the_username_from_another_address_too(client):
    staff_make(username="redaktor")
    _guess(client, username="redaktor", REMOTE_ADDR="198.51.100.7")

    response = admin_login(
        client, username="redaktor", password=STRONG_PASSWORD, REMOTE_ADDR="203.0.113.9"
    )

    assert response.status_code == 429


def test_it_refuses_the_username_written_with_spaces_around_it(client):
    staff_make(username="redaktor")
    _guess(client, username="redaktor")

    response = admin_login(client, username="  redaktor ", password=STRONG_PASSWORD)

    assert response.status_code == 429
    assert not logged_in(client)


def test_it_refuses_a_different_username_from_an_address_that_guessed_five_times(client):
    staff_make(username="tryck")
    for number in range(5):
        _guess(client, username=f"gissning{number}", times=1, REMOTE_ADDR="198.51.100.7")

    refused = admin_login(
        client, username="tryck", password=STRONG_PASSWORD, REMOTE_ADDR="198.51.100.7"
    )
    elsewhere = admin_login(
        client, username="tryck", password=STRONG_PASSWORD, REMOTE_ADDR="203.0.113.9"
    )

    assert refused.status_code == 429
    assert elsewhere.status_code == 302


def test_it_does_not_believe_a_forwarded_address_the_client_sends_itself(client):
    """Without a proxy configured, a new X-Forwarded-For per guess does not reset the count."""
    staff_make(username="tryck")
    for number in range(5):
        _guess(
            client,
            username=f"gissning{number}",
            times=1,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{number}",
            HTTP_X_REAL_IP=f"192.0.2.{number}",
        )

    response = admin_login(
        client, username="tryck", password=STRONG_PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.200"
    )

    assert response.status_code == 429


def test_it_counts_clients_behind_the_proxy_by_the_address_the_proxy_adds(client, settings):
    settings.CLIENT_IP_META_KEY = "HTTP_X_FORWARDED_FOR"
    staff_make(username="tryck")
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for number in range(5):
        # The attacker writes a new left-hand address each time; the proxy appends the real one.
        forwarded = f"192.0.2.{number}, 198.51.100.7"
        _guess(
            client, username=f"gissning{number}", times=1, HTTP_X_FORWARDED_FOR=forwarded, **proxy
        )

    attacker = admin_login(
        client,
        username="tryck",
        password=STRONG_PASSWORD,
        HTTP_X_FORWARDED_FOR="192.0.2.99, 198.51.100.7",
        **proxy,
    )
    colleague = admin_login(
        client,
        username="tryck",
        password=STRONG_PASSWORD,
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        **proxy,
    )

    assert attacker.status_code == 429
    assert colleague.status_code == 302


def test_it_lets_the_right_password_in_again_after_the_cool_off(client):
    staff_make(username="redaktor")
    _guess(client, username="redaktor")
    locked_at = timezone.now()

    with time_machine.travel(locked_at + timedelta(minutes=14), tick=False):
        assert admin_login(client, username="redaktor", password=STRONG_PASSWORD).status_code == 429
    with time_machine.travel(locked_at + timedelta(minutes=30), tick=False):
        response = admin_login(client, username="redaktor", password=STRONG_PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)


def test_it_starts_the_cool_off_again_when_someone_tries_during_it(client):
    staff_make(username="redaktor")
    _guess(client, username="redaktor")
    locked_at = timezone.now()

    with time_machine.travel(locked_at + timedelta(minutes=14), tick=False):
        admin_login(client, username="redaktor", password="ännu-en-gissning")
    with time_machine.travel(locked_at + timedelta(minutes=20), tick=False):
        response = admin_login(client, username="redaktor", password=STRONG_PASSWORD)

    assert response.status_code == 429


def test_it_logs_the_failures_and_the_lockout(client, caplog):
    staff_make(username="redaktor")
    with caplog.at_level(logging.INFO, logger="axes"):
        _guess(client, username="redaktor")
        admin_login(client, username="redaktor", password=STRONG_PASSWORD)

    messages = [record.getMessage() for record in caplog.records if record.name.startswith("axes")]
    assert any("Repeated login failure" in message for message in messages)
    assert any("Locking out" in message and "redaktor" in message for message in messages)
    assert AccessFailureLog.objects.filter(username="redaktor").count() >= 5
    assert STRONG_PASSWORD not in " ".join(messages)


def test_it_lets_an_administrator_unlock_an_account_in_the_admin(client):
    staff_make(username="redaktor")
    admin = staff_make(username="admin", superuser=True)
    _guess(client, username="redaktor", REMOTE_ADDR="198.51.100.7")
    admin_client = type(client)()
    admin_client.force_login(admin)

    response = admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {
            "action": "unlock_action",
            "_selected_action": [str(admin.__class__.objects.get(username="redaktor").pk)],
        },
        follow=True,
    )

    assert "Inloggningen är upplåst för: redaktor." in response.content.decode()
    assert not AccessAttempt.objects.filter(username="redaktor").exists()
    unlocked = admin_login(
        client, username="redaktor", password=STRONG_PASSWORD, REMOTE_ADDR="203.0.113.9"
    )
    assert unlocked.status_code == 302


def test_it_does_not_let_staff_without_the_right_to_change_users_unlock(client):
    staff_make(username="redaktor")
    editor = staff_make(username="kollega")
    _guess(client, username="redaktor")
    editor_client = type(client)()
    editor_client.force_login(editor)

    response = editor_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "unlock_action", "_selected_action": ["1"]},
    )

    assert response.status_code == 403
    assert AccessAttempt.objects.filter(username="redaktor").exists()


def test_it_lets_an_administrator_unlock_an_account_from_the_command_line(client):
    staff_make(username="redaktor")
    _guess(client, username="redaktor")

    call_command("axes_reset_username", "redaktor")

    assert admin_login(client, username="redaktor", password=STRONG_PASSWORD).status_code == 302
