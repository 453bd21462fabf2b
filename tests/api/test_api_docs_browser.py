"""The API's browsable page in a real browser, under the site's Content-Security-Policy."""

import pytest

from tests.browsing import context_new, csp_violations
from tests.factories import article_make, issue_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_browsable_page_lists_the_operations_and_breaks_no_policy(
    browser, live_server, artefacts_dir
):
    issue = issue_make(year=2018, number=1, status="published", publication_date="2018-03-15")
    article_make(issue=issue, heading="Bokstart når fler familjer")
    context = context_new(browser, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/api/v1/")
        page.wait_for_selector("text=/api/v1/issues/", timeout=20_000)
        page.screenshot(path=artefacts_dir / "api-docs.png", full_page=False)
        operations = page.locator(".opblock-summary-path").all_inner_texts()
        assert "/api/v1/issues/" in operations
        assert "/api/v1/subscribers/" in operations
        assert csp_violations(page) == []
    finally:
        context.close()
