"""The staff print page in a real browser: logged in as distribution staff, no WCAG violations."""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from accounts.roles import DISTRIBUTION_STAFF, role_groups_sync
from tests.browsing import axe_violations, csp_violations
from tests.factories import reference_data_ensure, staff_user_make
from tests.print_scenario import print_scenario_make

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_it_shows_the_print_page_without_accessibility_violations(live_server, page, artefacts_dir):
    reference_data_ensure()  # removed by the flush after any earlier transactional test
    role_groups_sync()
    print_scenario_make()
    user = staff_user_make(username="distribution", groups=[DISTRIBUTION_STAFF])
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    page.context.add_cookies(
        [{"name": "sessionid", "value": session.session_key, "url": live_server.url}]
    )
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(f"{live_server.url}/personal/tryck/2018-1/")

    assert page.locator("h1").inner_text() == "Tryckfördelning – Länsnytt 2018:1"
    assert page.locator("#att-atgarda tbody tr").count() == 3
    page.screenshot(path=artefacts_dir / "print-page.png", full_page=True)
    assert axe_violations(page) == []
    assert csp_violations(page) == []
