"""The staff print page in a real browser: logged in as distribution staff, no WCAG violations."""

import pytest
from django.test import Client

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
    # A session made by a real login (it carries the login time the session limits need).
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(f"{live_server.url}/personal/tryck/2018-1/")

    assert page.locator("h1").inner_text() == "Tryckfördelning – Länsnytt 2018:1"
    assert page.locator("#att-atgarda tbody tr").count() == 3
    page.screenshot(path=artefacts_dir / "print-page.png", full_page=True)
    assert axe_violations(page) == []
    assert csp_violations(page) == []
