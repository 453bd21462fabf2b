"""The issue report in a real browser: chart, tables and reach, no WCAG violations."""

import pytest
from django.test import Client

from accounts.roles import EDITORS, role_groups_sync
from subscribers.models import Channel, Suppression, SuppressionReason
from tests.browsing import axe_violations, csp_violations
from tests.factories import (
    organisation_make,
    reference_data_ensure,
    staff_user_make,
    subscriber_make,
)
from tests.reports.scenario import report_scenario_make

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def _logged_in(page, live_server, user) -> None:
    # A session made by a real login (it carries the login time the session limits need).
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


@pytest.mark.parametrize("width", [1280, 375])
def test_it_shows_the_issue_report_without_accessibility_violations(
    live_server, page, artefacts_dir, width
):
    reference_data_ensure()  # removed by the flush after any earlier transactional test
    role_groups_sync()
    report_scenario_make()
    _logged_in(page, live_server, staff_user_make(username="redaktor", groups=[EDITORS]))
    page.set_viewport_size({"width": width, "height": 900})

    page.goto(f"{live_server.url}/personal/rapport/2018-1/")

    assert page.locator("h1").inner_text() == "Rapport – Länsnytt 2018:1"
    assert "nådde 3 organisationer" in page.locator(".reach").inner_text()
    chart = page.locator("svg.report-chart")
    assert chart.get_attribute("role") == "img"
    assert chart.locator("title").first.text_content().startswith("Utfall per timme")
    assert chart.bounding_box()["height"] > 100  # drawn, not an empty box
    assert page.locator("#tabell-tid tbody tr").count() == 2
    # Wide tables and the chart scroll inside their own boxes; the page itself never does.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=artefacts_dir / f"issue-report-{width}.png", full_page=True)
    assert axe_violations(page) == []
    assert csp_violations(page) == []


def test_it_shows_the_dispatch_report_and_the_hygiene_page_without_violations(
    live_server, page, artefacts_dir
):
    reference_data_ensure()
    role_groups_sync()
    scenario = report_scenario_make()
    admin = staff_user_make(username="chef", is_superuser=True)
    _logged_in(page, live_server, admin)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(f"{live_server.url}/personal/rapport/utskick/{scenario['dispatch'].pk}/")
    page.screenshot(path=artefacts_dir / "dispatch-report.png", full_page=True)
    assert axe_violations(page) == []
    # Something in each of the hygiene page's tables, so axe looks at them too.
    Suppression.objects.create(email="studs@filialen.se", reason=SuppressionReason.BOUNCED)
    organisation_make(name="Tomma biblioteket")
    subscriber_make(email="tryck2@example.se", name="Tora Tryck", channel=Channel.PRINT,
                    street="Storgatan 1", city="Solna")  # fmt: skip
    page.goto(f"{live_server.url}/personal/listvard/")
    for table in ("#sparrade", "#organisationer", "#tryck-att-atgarda"):
        assert page.locator(f"{table} tbody tr").count() >= 1, table
    page.screenshot(path=artefacts_dir / "list-hygiene.png", full_page=True)
    assert axe_violations(page) == []
    assert csp_violations(page) == []
