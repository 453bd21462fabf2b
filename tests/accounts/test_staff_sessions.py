"""Staff sessions end after 30 minutes without a request and 8 hours after logging in; an
administrator can end all of a user's sessions at once."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.accounts.staff import staff_make

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


def _logged_in_client(user) -> tuple[Client, object]:
    client = Client()
    client.force_login(user)
    return client, timezone.now()


def _at(moment, client: Client, path: str = INDEX, **headers):
    with time_machine.travel(moment, tick=False):
        return client.get(path, **headers)


def test_it_keeps_a_session_that_is_used_within_30_minutes():
    client, start = _logged_in_client(staff_make(superuser=True))

    assert _at(start + timedelta(minutes=29), client).status_code == 200
    assert _at(start + timedelta(minutes=58), client).status_code == 200


def test_it_ends_a_session_after_30_minutes_without_a_request():
    client, start = _logged_in_client(staff_make(superuser=True))
    assert _at(start + timedelta(minutes=1), client).status_code == 200
    session_key = client.cookies["sessionid"].value

    response = _at(start + timedelta(minutes=32), client)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    row = Session.objects.get(session_key=session_key)
    assert row.expire_date <= start + timedelta(minutes=31, seconds=1)


def test_it_does_not_count_a_pages_own_polling_as_activity():
    client, start = _logged_in_client(staff_make(superuser=True))
    for minutes in (10, 20, 29):
        # What fetch() sends for the dispatch page's counters.
        assert (
            _at(start + timedelta(minutes=minutes), client, HTTP_SEC_FETCH_DEST="empty").status_code
            == 200
        )

    response = _at(start + timedelta(minutes=31), client, HTTP_SEC_FETCH_DEST="document")

    assert response.status_code == 302


def test_it_ends_a_session_8_hours_after_login_however_busy_it_is():
    client, start = _logged_in_client(staff_make(superuser=True))
    for minutes in range(25, 8 * 60, 25):
        assert _at(start + timedelta(minutes=minutes), client).status_code == 200

    response = _at(start + timedelta(hours=8, minutes=1), client)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_it_lets_the_database_expire_the_session_at_the_8_hour_limit():
    """The limit holds even where this middleware does not run: the session row itself ends."""
    client, start = _logged_in_client(staff_make(superuser=True))
    for minutes in range(25, 7 * 60 + 50, 25):
        assert _at(start + timedelta(minutes=minutes), client).status_code == 200

    row = Session.objects.get(session_key=client.cookies["sessionid"].value)

    assert row.expire_date <= start + timedelta(hours=8, seconds=1)


@pytest.mark.parametrize("after", [timedelta(minutes=31), timedelta(hours=8, minutes=1)])
def test_it_says_why_the_session_ended(after):
    client, start = _logged_in_client(staff_make(superuser=True))
    with time_machine.travel(start + after, tick=False):
        response = client.get(INDEX, follow=True)

    assert "Din session har gått ut. Logga in igen." in response.content.decode()


def test_it_does_not_say_the_session_ended_after_logging_out():
    client, _ = _logged_in_client(staff_make(superuser=True))
    client.post(reverse("admin:logout"))

    response = client.get(INDEX, follow=True)

    assert "Din session har gått ut." not in response.content.decode()


def test_it_counts_the_30_minutes_from_the_login_itself():
    client, start = _logged_in_client(staff_make(superuser=True))

    row = Session.objects.get(session_key=client.cookies["sessionid"].value)

    assert row.expire_date <= start + timedelta(minutes=30, seconds=1)


def test_it_ends_a_session_that_has_no_login_time():
    client, _ = _logged_in_client(staff_make(superuser=True))
    session = client.session
    del session["accounts_login_at"]
    session.save()

    assert client.get(INDEX).status_code == 302


def test_it_lets_an_administrator_end_all_of_a_users_sessions():
    editor = staff_make(username="redaktor", superuser=True)
    colleague = staff_make(username="tryck", superuser=True)
    laptop, _ = _logged_in_client(editor)
    phone, _ = _logged_in_client(editor)
    other, _ = _logged_in_client(colleague)
    admin, _ = _logged_in_client(staff_make(username="admin", superuser=True))

    response = admin.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "sessions_end_action", "_selected_action": [str(editor.pk)]},
        follow=True,
    )

    assert "2 sessioner avslutades." in response.content.decode()
    assert laptop.get(INDEX).status_code == 302
    assert phone.get(INDEX).status_code == 302
    assert other.get(INDEX).status_code == 200


def test_it_does_not_let_staff_without_the_right_to_change_users_end_sessions():
    editor = staff_make(username="redaktor", superuser=True)
    laptop, _ = _logged_in_client(editor)
    intern, _ = _logged_in_client(staff_make(username="praktikant"))

    response = intern.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "sessions_end_action", "_selected_action": [str(editor.pk)]},
    )

    assert response.status_code == 403
    assert laptop.get(INDEX).status_code == 200
