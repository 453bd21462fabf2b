"""Every save of an issue or an article keeps a revision; editors read the history as a diff
and restore an earlier revision, which is a revision of its own."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.roles import EDITORS
from newsletter.models import Article, Issue
from newsletter.services import article_move
from tests.composing.issue_forms import form_errors, issue_form_post
from tests.factories import sendable_issue_make, staff_user_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(settings):
    settings.STAFF_REQUIRE_2FA = False
    return staff_user_make(username="anna", groups=[EDITORS])


@pytest.fixture
def client(editor) -> Client:
    client = Client()
    client.force_login(editor)
    return client


def test_it_keeps_a_revision_of_the_issue_and_of_each_article_edited_inline(editor, client):
    issue = sendable_issue_make(approved=False)
    article = issue.articles.first()
    before_issue = Issue.history.filter(id=issue.pk).count()
    before_article = Article.history.filter(id=article.pk).count()

    response = issue_form_post(
        client,
        issue,
        intro="Ny ingress om läsfrämjande.",
        articles={article.pk: {"heading": "Meröppet i hela Sigtuna"}},
    )

    assert response.status_code == 302, form_errors(response)
    latest = Issue.history.filter(id=issue.pk).latest()
    assert Issue.history.filter(id=issue.pk).count() == before_issue + 1
    assert latest.history_user == editor
    assert latest.diff_against(latest.prev_record).changed_fields == ["intro"]
    article_latest = Article.history.filter(id=article.pk).latest()
    assert Article.history.filter(id=article.pk).count() == before_article + 1
    assert article_latest.history_user == editor
    assert article_latest.heading == "Meröppet i hela Sigtuna"


def test_a_move_from_the_editor_page_is_a_revision_too(editor, client):
    issue = sendable_issue_make(approved=False)
    second = issue.articles.order_by("position")[1]

    client.post(
        reverse("admin:newsletter_issue_move_article", args=[issue.pk, second.pk]),
        {"direction": "up"},
    )

    latest = Article.history.filter(id=second.pk).latest()
    assert latest.position == 1
    assert latest.history_user == editor


def test_a_service_s_save_is_a_revision_without_a_user():
    issue = sendable_issue_make(approved=False)
    third = issue.articles.order_by("position")[2]

    article_move(article=third, direction="up")

    latest = Article.history.filter(id=third.pk).latest()
    assert latest.position == 2
    assert latest.history_user is None


def test_the_history_shows_each_change_as_a_word_diff_with_markup_escaped(client):
    issue = sendable_issue_make(approved=False)
    issue_form_post(client, issue, intro="Bokstart <script>alert(1)</script> i Botkyrka.")
    issue.refresh_from_db()
    issue_form_post(client, issue, intro="Bokstart når fler familjer i Botkyrka.")

    page = client.get(reverse("admin:newsletter_issue_history", args=[issue.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "<del>&lt;script&gt;alert(1)&lt;/script&gt;</del>" in html
    assert "<ins>når fler familjer</ins>" in html
    assert "<script>alert(1)</script>" not in html
    assert "anna" in html


def test_restoring_an_earlier_revision_brings_back_its_text_and_is_a_revision(editor, client):
    issue = sendable_issue_make(approved=False)
    issue_form_post(client, issue, intro="Första ingressen.")
    first = Issue.history.filter(id=issue.pk).latest()
    issue.refresh_from_db()
    issue_form_post(client, issue, intro="Andra ingressen.")
    issue.refresh_from_db()
    count = Issue.history.filter(id=issue.pk).count()

    url = reverse("admin:newsletter_issue_simple_history", args=[issue.pk, first.history_id])
    form = client.get(url)
    assert form.status_code == 200
    data = {
        name: getattr(first, name)
        for name in ("title", "year", "number", "slug", "subject", "preheader", "intro",
                     "language", "cover_image_alt")
    }  # fmt: skip
    data["publication_date"] = ""
    response = client.post(url, data)

    assert response.status_code == 302, form_errors(response)
    issue.refresh_from_db()
    assert issue.intro == "Första ingressen."
    restored = Issue.history.filter(id=issue.pk).latest()
    assert Issue.history.filter(id=issue.pk).count() == count + 1
    assert restored.history_user == editor
    assert f"Återställd från version {first.history_id}" == restored.history_change_reason


def test_a_restore_never_brings_back_an_old_status_or_approval(editor, client):
    issue = sendable_issue_make(approved=False)
    issue_form_post(client, issue, intro="Första ingressen.")
    first = Issue.history.filter(id=issue.pk).latest()
    Issue.objects.filter(pk=issue.pk).update(status="published")

    assert not hasattr(first, "status")
    assert not hasattr(first, "approved_version")
    assert first.instance.status == "published"  # excluded fields come from the live row
