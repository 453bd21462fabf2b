"""Pre-flight checklist, status transitions, ordering and test sends."""

import pytest
from django.core.exceptions import ValidationError

from newsletter.models import IssueStatus
from newsletter.preflight import issue_preflight, link_problem
from newsletter.services import (
    IssueNotReady,
    IssueTransitionError,
    article_move,
    issue_mark_ready,
    issue_publish,
    issue_send_test,
)
from tests.factories import article_make, issue_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue():
    issue = issue_make(year=2018, number=2)
    article_make(issue=issue, heading="Bokstart", body="Läs [rapporten](/arkiv/).")
    article_make(issue=issue, heading="Kommer boken?", cta_url="https://example.org/boken-kommer")
    article_make(issue=issue, heading="Praktisk kunskap")
    return issue


def test_it_marks_a_complete_issue_ready(issue):
    assert all(check.passed for check in issue_preflight(issue=issue))

    issue_mark_ready(issue=issue)

    issue.refresh_from_db()
    assert issue.status == IssueStatus.READY


def test_it_blocks_ready_and_lists_every_failure(issue):
    issue.subject = ""
    issue.save()
    article_make(issue=issue, heading="Tom artikel", lead="", body="")
    article_make(issue=issue, heading="Trasig länk", body="Se [sidan](/finns-inte/) och "
                 "[annan](https://kb..se/).")  # fmt: skip
    bokstart = issue.articles.get(heading="Bokstart")
    # The database refuses an image without alt text; simulate a legacy row via update().
    type(bokstart).objects.filter(pk=bokstart.pk).update(image="articles/a.png", image_alt=" ")

    with pytest.raises(IssueNotReady) as raised:
        issue_mark_ready(issue=issue)

    message = str(raised.value)
    assert "Numret saknar ämnesrad." in message
    assert "Tom artikel" in message
    assert "Bilden i ”Bokstart” saknar alternativtext." in message
    assert "/finns-inte/ – sidan finns inte på webbplatsen" in message
    assert "https://kb..se/ – ogiltig webbadress" in message
    issue.refresh_from_db()
    assert issue.status == IssueStatus.DRAFT


def test_it_blocks_an_issue_without_articles():
    issue = issue_make(year=2018, number=3)

    with pytest.raises(IssueNotReady, match="Numret har inga artiklar."):
        issue_mark_ready(issue=issue)


def test_it_blocks_ready_when_the_email_template_is_broken(issue, settings, tmp_path):
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "issue.mjml").write_text("<mjml><mj-body><mj-section></mjml>")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]

    with pytest.raises(IssueNotReady, match="MJML-fel"):
        issue_mark_ready(issue=issue)


def test_it_refuses_an_article_image_without_alt_text_in_the_database(issue):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        article_make(issue=issue, heading="Bild utan text", image="articles/b.png", image_alt="")


def test_it_validates_alt_text_in_forms(issue):
    article = issue.articles.first()
    article.image = "articles/c.png"
    article.image_alt = ""

    with pytest.raises(ValidationError, match="alternativtext"):
        article.full_clean()


def test_it_checks_links_without_the_network_by_default():
    assert link_problem("https://www.kb.se/finns-kanske-inte") == ""
    assert link_problem("http://localhost:8000/arkiv/") == ""
    assert link_problem("http://localhost:8000/nej/") == "sidan finns inte på webbplatsen"
    assert link_problem("mailto:redaktion@example.se") == ""
    assert link_problem("ftp://example.org/fil") == "ogiltig webbadress"


def test_it_publishes_only_ready_issues_and_dates_them(issue):
    with pytest.raises(IssueTransitionError):
        issue_publish(issue=issue)

    issue_mark_ready(issue=issue)
    issue_publish(issue=issue)

    assert issue.status == IssueStatus.PUBLISHED
    assert issue.publication_date is not None


def test_it_moves_articles_up_and_down_and_renumbers(issue):
    bokstart, kommer, praktisk = issue.articles.order_by("position")

    article_move(article=praktisk, direction="up")
    assert list(issue.articles.order_by("position").values_list("heading", flat=True)) == [
        "Bokstart", "Praktisk kunskap", "Kommer boken?",
    ]  # fmt: skip
    article_move(article=bokstart, direction="up")  # already first: stays
    article_move(article=bokstart, direction="down")
    assert list(issue.articles.order_by("position").values_list("heading", "position")) == [
        ("Praktisk kunskap", 1), ("Bokstart", 2), ("Kommer boken?", 3),
    ]  # fmt: skip


def test_it_sends_a_test_to_chosen_addresses_with_html_and_text(issue, smtp_server, settings):
    settings.EMAIL_URL = f"smtp://{smtp_server.host}:{smtp_server.port}"

    sent = issue_send_test(issue=issue, emails=["anna@example.se", " bo@example.se "])

    assert sent == 2
    messages = smtp_server.wait_for_messages(2)
    assert sorted(message["To"] for message in messages) == ["anna@example.se", "bo@example.se"]
    message = messages[0]
    assert message["Subject"].startswith("[TEST] Länsnytt 2018:2")
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Bokstart" in text and "__LANSNYTT_" not in text
    assert "Bokstart" in html and "__LANSNYTT_" not in html


def test_it_refuses_a_test_send_to_an_invalid_address(issue):
    with pytest.raises(ValidationError, match="inte-en-adress"):
        issue_send_test(issue=issue, emails=["anna@example.se", "inte-en-adress"])
