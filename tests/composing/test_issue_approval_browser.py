"""The editorial workflow in a real browser: one editor edits and marks the issue ready, a
second approves it, an edit after the approval blocks sending until it is approved again, and
then it goes out. Screenshots of each step are test artefacts."""

import pytest
from django.test import Client

from accounts.roles import EDITORS, role_groups_sync
from newsletter.models import Issue, IssueStatus
from tests.browsing import context_new
from tests.factories import (
    reference_data_ensure,
    segment_make,
    sendable_issue_make,
    staff_user_make,
    subscriber_make,
)
from worker.celery import app
from worker.models import Dispatch

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def eager():
    """The live server sends in the test's process (the Celery app read its configuration
    once, so the settings fixture cannot reach it)."""
    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was_eager


def _logged_in(browser, live_server, username: str):
    user = staff_user_make(username=username, groups=[EDITORS])
    client = Client()
    client.force_login(user)
    context = context_new(browser, viewport={"width": 1280, "height": 1000}, locale="sv-SE")
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context.new_page()


def _shot(page, artefacts_dir, name: str) -> None:
    page.screenshot(path=artefacts_dir / f"workflow-{name}.png", full_page=True)


def _messages(page) -> str:
    return (
        page.locator("ul.messagelist").inner_text()
        if page.locator("ul.messagelist").count()
        else ""
    )


def test_it_walks_edit_ready_approve_by_a_second_editor_and_send(
    browser, live_server, artefacts_dir, smtp_server, settings, eager
):
    settings.STAFF_REQUIRE_2FA = False
    settings.EMAIL_URL = smtp_server.url
    reference_data_ensure()
    role_groups_sync()
    readers = segment_make(slug="lasare", name="Läsare")
    for n in range(3):
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers])
    issue = sendable_issue_make(status=IssueStatus.DRAFT, approved=False)
    issue.articles.update(lead="Biblioteken i länet provar nya sätt att nå läsare.")
    anna = _logged_in(browser, live_server, "anna")
    bertil = _logged_in(browser, live_server, "bertil")
    change_url = f"{live_server.url}/admin/newsletter/issue/{issue.pk}/change/"
    preview_url = f"{live_server.url}/admin/newsletter/issue/{issue.pk}/preview/"

    # Anna edits the issue and marks it ready.
    anna.goto(change_url)
    anna.fill("#id_intro", "Välkommen till årets första nummer, om Bokstart och meröppet.")
    anna.click("input[name=_save]")
    anna.goto(preview_url)
    anna.click("button[value=ready]")
    assert "Numret är markerat som klart." in _messages(anna)
    assert "behöver godkännande" in anna.locator("#approval-heading + p").inner_text()
    # Her own approval is refused: she changed it last.
    anna.click("button[value=approve]")
    assert "en annan redaktör behöver godkänna" in _messages(anna)
    _shot(anna, artefacts_dir, "1-own-approval-refused")

    # Bertil, the second pair of eyes, approves the version he sees.
    bertil.goto(preview_url)
    bertil.click("button[value=approve]")
    assert "Numret är godkänt för utskick." in _messages(bertil)
    assert "Godkänt av bertil" in bertil.locator(".approval").inner_text()
    _shot(bertil, artefacts_dir, "2-approved-by-second-editor")

    # Anna changes the subject after the approval: sending is refused until approved again.
    anna.goto(change_url)
    anna.fill("#id_subject", "Länsnytt 2018:1 – Bokstart och meröppet")
    anna.click("input[name=_save]")
    anna.goto(f"{live_server.url}/admin/worker/dispatch/add/")
    anna.select_option("#id_issue", label=str(issue))
    anna.check(f"input[name=segments][value='{readers.pk}']")
    anna.click("input[name=_save]")
    assert "behöver godkännande" in anna.locator("ul.errorlist").first.inner_text()
    assert not Dispatch.objects.exists()
    _shot(anna, artefacts_dir, "3-edit-after-approval-blocks-sending")

    # Bertil approves the new version; Anna confirms and the issue goes out.
    bertil.goto(preview_url)
    bertil.click("button[value=approve]")
    assert "Numret är godkänt för utskick." in _messages(bertil)
    anna.goto(f"{live_server.url}/admin/worker/dispatch/add/")
    anna.select_option("#id_issue", label=str(issue))
    anna.check(f"input[name=segments][value='{readers.pk}']")
    anna.click("input[name=_save]")
    assert "bertil" in anna.locator(".dispatch-summary").inner_text()
    _shot(anna, artefacts_dir, "4-confirmation-names-the-approver")
    anna.click(".submit-row button[type=submit]")
    anna.wait_for_load_state()
    assert "Lade till utskick" in _messages(anna)
    _shot(anna, artefacts_dir, "5-sent")

    dispatch = Dispatch.objects.get()
    assert dispatch.rendering_version == Issue.objects.get(pk=issue.pk).approved_version
    assert sorted(smtp_server.recipients()) == [f"lasare{n}@example.se" for n in range(3)]
    assert all("Bokstart och meröppet" in message["Subject"] for message in smtp_server.messages())
