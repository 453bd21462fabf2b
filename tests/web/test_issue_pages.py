"""In chromium: the editor's preview at phone and desktop width, and WCAG 2.1 AA with axe-core
on the email, the archive, the issue's web version and an article permalink."""

import mimetypes
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from newsletter.demo import demo_issue_ensure
from newsletter.services import issue_publish
from tests.browsing import axe_violations, context_new, csp_violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def site(live_server, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = live_server.url
    issue = issue_publish(issue=demo_issue_ensure())
    editor = User.objects.create_superuser(username="redaktor", password="x", email="r@example.se")
    client = Client()
    client.force_login(editor)
    return {
        "url": live_server.url,
        "issue": issue,
        "media_root": Path(settings.MEDIA_ROOT),
        "session": client.cookies["sessionid"].value,
    }


def _page(browser, site, *, width: int, staff: bool = False):
    context = context_new(browser, viewport={"width": width, "height": 900}, locale="sv-SE")
    if staff:
        context.add_cookies([{"name": "sessionid", "value": site["session"], "url": site["url"]}])

    # The live server serves static files but not uploads; hand it the demo illustrations.
    def media(route):
        name = route.request.url.split("/media/", 1)[1]
        path = site["media_root"] / name
        route.fulfill(path=str(path), content_type=mimetypes.guess_type(path.name)[0])

    context.route("**/media/**", media)
    return context, context.new_page()


def _email_axe_violations(page) -> list[dict]:
    """axe on the email's HTML. The preview URL serves it in a CSP sandbox that runs no script
    at all, and axe needs timers, so it checks the same HTML loaded as a plain page (the
    way a mail client shows it)."""
    html = page.content()
    page.goto("about:blank")  # a document of its own: set_content keeps the current one's CSP
    page.set_content(html, wait_until="load")
    return axe_violations(page)


@pytest.mark.parametrize("width", [375, 800])
def test_it_previews_the_email_without_accessibility_violations(
    browser, site, artefacts_dir, width
):
    context, page = _page(browser, site, width=width, staff=True)
    issue = site["issue"]
    try:
        preview = reverse("admin:newsletter_issue_preview", kwargs={"issue_id": issue.pk})
        page.goto(site["url"] + preview)
        assert page.locator("iframe.frame-desktop").is_visible()
        mobile = page.frame_locator("iframe.frame-mobile")
        assert mobile.get_by_role("heading", name="Länsnytt 2018:1").is_visible()
        page.screenshot(path=artefacts_dir / f"issue-preview-page-{width}.png", full_page=True)

        page.get_by_role("tab", name="Klartext").click()
        assert page.locator("#panel-text").is_visible()
        assert "LÄNSNYTT 2018:1" in page.locator("#panel-text").inner_text()

        email = reverse("admin:newsletter_issue_preview_email", kwargs={"issue_id": issue.pk})
        page.goto(site["url"] + email)
        page.wait_for_load_state("networkidle")
        images = page.locator("img")
        assert images.count() == 8
        assert all(img.evaluate("i => i.naturalWidth") > 0 for img in images.all())
        # Readable at this width: nothing wider than the viewport.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=artefacts_dir / f"issue-email-{width}.png", full_page=True)
        assert csp_violations(page) == []
        assert _email_axe_violations(page) == []
    finally:
        context.close()


def test_it_renders_the_email_readably_in_dark_mode(browser, site, artefacts_dir):
    context, page = _page(browser, site, width=375, staff=True)
    try:
        page.emulate_media(color_scheme="dark")
        email = reverse(
            "admin:newsletter_issue_preview_email", kwargs={"issue_id": site["issue"].pk}
        )
        page.goto(site["url"] + email)
        page.screenshot(path=artefacts_dir / "issue-email-375-dark.png", full_page=True)
        assert csp_violations(page) == []
        assert _email_axe_violations(page) == []
    finally:
        context.close()


@pytest.mark.parametrize(
    "path",
    ["/arkiv/", "/arkiv/2018-1/", "/arkiv/2018-1/bokstart/"],
    ids=["archive", "issue", "article"],
)
def test_it_publishes_accessible_web_pages(browser, site, artefacts_dir, path):
    context, page = _page(browser, site, width=375)
    try:
        response = page.goto(site["url"] + path)
        assert response.status == 200
        name = path.strip("/").replace("/", "-")
        page.screenshot(path=artefacts_dir / f"web-{name}-375.png", full_page=True)
        assert axe_violations(page) == []
        page.emulate_media(color_scheme="dark")
        assert axe_violations(page) == []
        assert csp_violations(page) == []
    finally:
        context.close()
