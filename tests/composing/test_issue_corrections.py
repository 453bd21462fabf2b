"""Once an issue has gone out its content changes only as a correction (rättelse), with a
reason that the archive shows; what the email shows decides the rendering version."""

import shutil
import subprocess

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts.roles import EDITORS
from audit.models import AuditAction, AuditEntry
from newsletter.approval import issue_current_version
from newsletter.corrections import CorrectionRequired, issue_correction
from newsletter.models import Article, IssueCorrection, IssueStatus
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


@pytest.fixture
def published():
    return sendable_issue_make(status=IssueStatus.PUBLISHED)


def test_the_admin_refuses_an_edit_of_a_published_issue_without_a_reason(client, published):
    article = published.articles.first()

    response = issue_form_post(
        client, published, articles={article.pk: {"heading": "Ändrad i smyg"}}
    )

    assert response.status_code == 200
    assert "en ändring av innehållet är en rättelse" in response.content.decode()
    article.refresh_from_db()
    assert article.heading == "Meröppet i Sigtuna"
    assert not IssueCorrection.objects.exists()


def test_a_correction_with_a_reason_makes_a_new_version_and_the_archive_notes_it(
    editor, client, published
):
    article = published.articles.first()
    before = issue_current_version(issue=published)

    response = issue_form_post(
        client,
        published,
        articles={article.pk: {"heading": "Meröppet i Sigtuna och Märsta"}},
        correction_reason="Fel ort i rubriken",
    )

    assert response.status_code == 302, form_errors(response)
    correction = IssueCorrection.objects.get()
    assert correction.reason == "Fel ort i rubriken"
    assert correction.created_by == editor
    assert correction.version == issue_current_version(issue=published) != before
    entry = AuditEntry.objects.get(action=AuditAction.ISSUE_CORRECTION)
    assert entry.detail["version_before"] == before
    page = Client().get(published.get_absolute_url()).content.decode()
    assert "Meröppet i Sigtuna och Märsta" in page
    assert "Rättelser" in page
    assert "Fel ort i rubriken" in page
    assert f'datetime="{correction.created_at:%Y-%m-%d}"' in page


def test_the_guard_refuses_a_save_from_any_other_entry_point(published):
    article = published.articles.first()
    article.lead = "Ändrad från ett skal"
    published.refresh_from_db()
    published.subject = "Ny ämnesrad"
    attempts = [
        article.save,
        lambda: Article.objects.create(issue=published, heading="Ny", slug="ny"),
        lambda: published.articles.last().delete(),
        lambda: article_move(article=published.articles.last(), direction="up"),
        published.save,
    ]

    for attempt in attempts:
        # Each in a savepoint: a delete's refusal breaks the transaction it ran in.
        with pytest.raises(CorrectionRequired), transaction.atomic():
            attempt()

    assert [a.lead for a in published.articles.order_by("position")][0] != "Ändrad från ett skal"
    assert published.articles.count() == 3
    assert not published.corrections.exists()


def test_a_save_that_changes_no_content_passes_the_guard(published):
    published.refresh_from_db()
    published.save()  # nothing changed
    article = published.articles.first()
    article.save()


def test_a_correction_through_the_service_is_recorded_once_and_only_when_something_changed(
    editor, published
):
    with issue_correction(issue=published, reason="Ingenting", actor=editor):
        pass
    assert not IssueCorrection.objects.exists()

    with issue_correction(issue=published, reason="Stavfel i ingressen", actor=editor):
        article = published.articles.first()
        article.lead = "Rättad ingress"
        article.save()

    assert IssueCorrection.objects.get().reason == "Stavfel i ingressen"


def test_an_empty_reason_is_no_correction(editor, published):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        with issue_correction(issue=published, reason="   ", actor=editor):
            pass


def test_the_version_leaves_out_the_body_the_email_does_not_show():
    issue = sendable_issue_make(approved=False)
    before = issue_current_version(issue=issue)
    article = issue.articles.first()

    article.body = "Bara på webben."
    article.save()
    assert issue_current_version(issue=issue) == before

    article.lead = "Ingressen syns i e-posten."
    article.save()
    assert issue_current_version(issue=issue) != before


def test_the_version_changes_when_a_translation_changes(settings, tmp_path):
    source = settings.BASE_DIR / "locale"
    locale = tmp_path / "locale"
    shutil.copytree(source, locale)
    settings.LOCALE_PATHS = [locale]
    issue = sendable_issue_make(approved=False)
    before = issue_current_version(issue=issue)

    po = locale / "en" / "LC_MESSAGES" / "django.po"
    po.write_text(
        po.read_text(encoding="utf-8") + '\nmsgid "Ett nytt ord i mallen"\nmsgstr "A new word"\n',
        encoding="utf-8",
    )
    subprocess.run(
        ["msgfmt", "-o", str(po.with_suffix(".mo")), str(po)], check=True, capture_output=True
    )

    assert issue_current_version(issue=issue) != before


def test_moving_articles_of_a_published_issue_from_the_editor_page_says_why_not(client, published):
    last = published.articles.order_by("position").last()

    response = client.post(
        reverse("admin:newsletter_issue_move_article", args=[published.pk, last.pk]),
        {"direction": "up"},
        follow=True,
    )

    assert "är en rättelse" in " ".join(str(m) for m in response.context["messages"])
    last.refresh_from_db()
    assert last.position == 3
