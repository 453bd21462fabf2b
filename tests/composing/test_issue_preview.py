"""The editor's preview in the admin: staff only, framed same-origin, shows template errors."""

import pytest
from django.urls import reverse

from accounts.models import User
from newsletter.models import IssueStatus
from tests.factories import article_make, issue_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue():
    issue = issue_make(year=2018, number=4)
    article_make(issue=issue, heading="Bokstart")
    article_make(issue=issue, heading="Tillsammans")
    return issue


@pytest.fixture
def editor(client):
    user = User.objects.create_superuser(username="redaktor", password="x", email="r@example.se")
    client.force_login(user)
    return user


def _url(name: str, issue, **kwargs) -> str:
    return reverse(f"admin:newsletter_issue_{name}", kwargs={"issue_id": issue.pk, **kwargs})


@pytest.mark.parametrize("name", ["preview", "preview_email"])
def test_it_sends_anonymous_users_to_the_login(client, issue, name):
    response = client.get(_url(name, issue))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_it_refuses_staff_without_the_issue_permission(client, issue):
    client.force_login(User.objects.create_user(username="praktikant", password="x", is_staff=True))

    assert client.get(_url("preview", issue)).status_code == 403


def test_it_shows_desktop_and_mobile_frames_checklist_and_plain_text(client, issue, editor):
    response = client.get(_url("preview", issue))

    content = response.content.decode()
    assert response.status_code == 200
    assert 'class="frame-desktop"' in content and 'class="frame-mobile"' in content
    assert 'role="tab"' in content and "Klartext" in content
    assert "Kontroll före utskick" in content and "Ämnesraden är ifylld" in content
    assert "Hej Anna Andersson!" in content  # the plain-text tab


def test_it_lets_the_email_be_framed_by_the_same_origin_only(client, issue, editor):
    response = client.get(_url("preview_email", issue))

    assert response.status_code == 200
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response.content.decode().startswith("<!doctype html>")
    assert client.get(_url("preview", issue))["X-Frame-Options"] == "DENY"


def test_it_shows_a_broken_template_in_the_preview_and_refuses_ready(
    client, issue, editor, settings, tmp_path
):
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "issue.mjml").write_text("<mjml><mj-body>", encoding="utf-8")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]

    content = client.get(_url("preview", issue)).content.decode()
    assert "E-postmallen kunde inte renderas" in content and "MJML-fel" in content

    response = client.post(_url("transition", issue), {"action": "ready"}, follow=True)
    assert "Numret kan inte markeras som klart" in response.content.decode()
    issue.refresh_from_db()
    assert issue.status == IssueStatus.DRAFT


def test_it_marks_ready_and_publishes_from_the_preview(client, issue, editor):
    client.post(_url("transition", issue), {"action": "ready"})
    issue.refresh_from_db()
    assert issue.status == IssueStatus.READY

    client.post(_url("transition", issue), {"action": "publish"})
    issue.refresh_from_db()
    assert issue.status == IssueStatus.PUBLISHED


def test_it_sends_a_test_from_the_preview(client, issue, editor, smtp_server, settings):
    settings.EMAIL_URL = f"smtp://{smtp_server.host}:{smtp_server.port}"
    response = client.post(
        _url("send_test", issue), {"emails": "a@example.se, b@example.se"}, follow=True
    )

    assert "Testutskick skickat till 2 adresser." in response.content.decode()
    assert len(smtp_server.wait_for_messages(2)) == 2


def test_it_moves_an_article_from_the_preview(client, issue, editor):
    tillsammans = issue.articles.get(heading="Tillsammans")

    client.post(_url("move_article", issue, article_id=tillsammans.pk), {"direction": "up"})

    assert issue.articles.order_by("position").first() == tillsammans


def test_it_moves_articles_with_the_admin_action(client, issue, editor):
    tillsammans = issue.articles.get(heading="Tillsammans")

    client.post(
        reverse("admin:newsletter_article_changelist"),
        {"action": "move_up", "_selected_action": [tillsammans.pk]},
    )

    assert issue.articles.order_by("position").first() == tillsammans


def test_it_keeps_status_out_of_the_issue_form(client, issue, editor):
    response = client.get(reverse("admin:newsletter_issue_change", args=[issue.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert 'name="status"' not in content
    assert _url("preview", issue) in content
