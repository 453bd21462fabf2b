"""The Content-Security-Policy in chromium: the email preview still shows the email but runs
none of its script, even script an attacker managed to get into the rendering, and the admin
(its widgets, the dispatch page's live counters) keeps working with nothing blocked.
Screenshots in var/test-artefacts/policy-*.png."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from newsletter import rendering
from newsletter.models import IssueRendering
from newsletter.rendering import issue_render
from tests.browsing import context_new, csp_violations
from tests.factories import (
    organisation_make,
    reference_data_ensure,
    segment_make,
    sendable_issue_make,
    subscriber_make,
)
from worker.models import Delivery, DeliveryStatus, Dispatch, DispatchStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What an attacker would put into the email's HTML if a template ever let markup through.
PLANTED = (
    "<script>document.body.dataset.pwned = 'script';"
    " try { parent.document.body.dataset.pwned = 'parent' } catch (e) {}</script>"
    '<img src="data:," onerror="document.body.dataset.pwned = \'handler\'" alt="">'
    '<a id="planted-link" href="javascript:document.body.dataset.pwned=\'link\'">länk</a>'
)


@pytest.fixture
def editor_page(browser, live_server, settings):
    reference_data_ensure()
    settings.SITE_URL = live_server.url
    editor = User.objects.create_superuser(username="redaktor", email="redaktor@example.se")
    client = Client()
    client.force_login(editor)
    context = context_new(browser, viewport={"width": 1280, "height": 900}, locale="sv-SE")
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    yield context.new_page()
    context.close()


def _issue_with_planted_script():
    issue = sendable_issue_make()
    issue_render(issue=issue)
    IssueRendering.objects.filter(issue=issue).update(html=_planted(issue))
    rendering._memo.clear()  # the live server's thread shares this process's memo
    return issue


def _planted(issue) -> str:
    html = IssueRendering.objects.get(issue=issue).html
    return html.replace("</body>", PLANTED + "</body>", 1)


def test_it_shows_the_email_in_the_preview_but_runs_none_of_its_script(
    editor_page, live_server, artefacts_dir
):
    page = editor_page
    issue = _issue_with_planted_script()

    page.goto(live_server.url + reverse("admin:newsletter_issue_preview", args=[issue.pk]))
    frame = page.frame_locator("iframe.frame-desktop")
    frame.get_by_role("heading", name="Meröppet i Sigtuna").wait_for()
    frame.locator("#planted-link").click()
    page.wait_for_timeout(500)
    page.screenshot(path=artefacts_dir / "policy-preview.png", full_page=True)
    # The frames themselves (a full-page shot leaves out-of-process frames unpainted).
    for kind in ("desktop", "mobile"):
        page.locator(f"iframe.frame-{kind}").screenshot(
            path=artefacts_dir / f"policy-preview-{kind}.png"
        )

    assert frame.locator("body").get_attribute("data-pwned") is None
    assert page.locator("body").get_attribute("data-pwned") is None
    assert csp_violations(page), "chromium reported no blocked script: nothing was tried?"


def test_it_runs_none_of_the_emails_script_when_its_address_is_opened_directly(
    editor_page, live_server
):
    page = editor_page
    issue = _issue_with_planted_script()

    page.goto(live_server.url + reverse("admin:newsletter_issue_preview_email", args=[issue.pk]))
    page.locator("#planted-link").click()
    page.wait_for_timeout(500)

    assert page.locator("body").get_attribute("data-pwned") is None
    # A unique origin: the page cannot even read our cookies.
    cookies = page.evaluate("() => { try { return document.cookie } catch (e) { return e.name } }")
    assert cookies == "SecurityError"
    assert csp_violations(page)


def test_it_keeps_the_admins_widgets_working(editor_page, live_server, artefacts_dir):
    page = editor_page
    segment = segment_make(slug="nyheter", name="Nyheter")
    subscriber = subscriber_make(
        email="anna.andersson@solna.se", organisation=organisation_make(), segments=[segment]
    )

    page.goto(
        live_server.url + reverse("admin:subscribers_subscriber_change", args=[subscriber.pk])
    )

    # Both are built by the admin's JavaScript: they exist only if its scripts ran.
    page.locator(".selector .selector-available").wait_for()
    page.locator(".select2-container").first.wait_for()
    page.screenshot(path=artefacts_dir / "policy-admin-subscriber.png", full_page=True)
    assert csp_violations(page) == []


def test_it_keeps_the_dispatch_counters_live(editor_page, live_server, artefacts_dir):
    page = editor_page
    issue = sendable_issue_make()
    subscriber = subscriber_make(email="erik.berg@sundbyberg.se")
    dispatch = Dispatch.objects.create(issue=issue, status=DispatchStatus.SENDING, planned_count=1)
    delivery = Delivery.objects.create(
        dispatch=dispatch, issue=issue, subscriber=subscriber, email=subscriber.email
    )

    page.goto(live_server.url + reverse("admin:worker_dispatch_change", args=[dispatch.pk]))
    assert page.locator("[data-field=sent]").inner_text() == "0"
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENT)

    page.locator("[data-field=sent]", has_text="1").wait_for(timeout=15_000)
    page.screenshot(path=artefacts_dir / "policy-admin-dispatch.png", full_page=True)
    assert csp_violations(page) == []
