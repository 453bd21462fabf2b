"""The issue's email: rendered once per version, accessible, personalised per recipient."""

import re

import pytest

from newsletter import personalisation, rendering
from newsletter.rendering import RenderingError, issue_personalise, issue_render
from tests.factories import article_make, issue_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def mjml_calls(monkeypatch):
    """Counts calls into the MJML library while still running it."""
    calls = []
    real = rendering.mjml_to_html

    def counting(source: str) -> str:
        calls.append(source)
        return real(source)

    monkeypatch.setattr(rendering, "mjml_to_html", counting)
    rendering._memo.clear()
    return calls


@pytest.fixture
def issue():
    issue = issue_make(year=2018, number=1, title="Länsnytt 2018:1", slug="2018-1")
    article_make(issue=issue, heading="Bokstart når fler familjer", image="articles/bokstart.png",
                 image_alt="Ett barn läser en bilderbok i knät på en vuxen.")  # fmt: skip
    article_make(issue=issue, heading="Kommer boken?", kicker="Boken kommer",
                 cta_label="Läs rapporten", cta_url="https://example.org/rapport")  # fmt: skip
    return issue


def test_it_renders_an_accessible_html_document_with_inlined_styles(issue):
    html = issue_render(issue=issue).html

    assert html.lower().startswith("<!doctype html>")
    assert re.search(r'<html[^>]*\blang="sv"', html)
    images = re.findall(r"<img\b[^>]*>", html)
    assert images and all(re.search(r'\balt="[^"]+"', image) for image in images)
    tables = re.findall(r"<table\b[^>]*>", html)
    assert tables and all('role="presentation"' in table for table in tables)
    # Styles from <mj-style> end up on the elements themselves.
    assert re.search(r'<h2 id="artikel-kommer-boken"[^>]*style="[^"]*font-size:\s*22px', html)
    # Media queries cannot be inlined and stay in a <style> block.
    assert "prefers-color-scheme: dark" in html
    assert 'src="http://localhost:8000/media/articles/bokstart.png"' in html
    assert "Regionbibliotek Stockholm" in html and "Visa i webbläsaren" in html
    assert "Box 12345" in html
    for placeholder in personalisation.ALL:
        assert placeholder in html


def test_it_has_no_body_text_smaller_than_14px(issue):
    html = issue_render(issue=issue).html
    # Ignore 0px/1px: MJML's whitespace-collapsing wrappers and the hidden preheader.
    sizes = {int(size) for size in re.findall(r"font-size:\s*(\d+)px", html)} - {0, 1}
    assert sizes and min(sizes) >= 14


def test_it_builds_the_plain_text_from_the_content_with_every_heading_and_permalink(issue):
    text = issue_render(issue=issue).text

    for article in issue.articles.all():
        assert article.heading in text
        assert f"Läs mer: http://localhost:8000/arkiv/2018-1/{article.slug}/" in text
    assert "Läs rapporten: https://example.org/rapport" in text
    assert "<" not in text
    assert personalisation.UNSUBSCRIBE_URL in text and personalisation.PREFERENCES_URL in text


def test_it_calls_the_mjml_renderer_once_for_a_thousand_personalised_messages(issue, mjml_calls):
    messages = []
    for number in range(1000):
        rendered = issue_render(issue=issue)
        messages.append(
            issue_personalise(
                rendered,
                name=f"Läsare {number}",
                preferences_url=f"https://lansnytt.example/prenumeration/{number}/",
                unsubscribe_url=f"https://lansnytt.example/avregistrera/{number}/",
            )
        )

    assert len(mjml_calls) == 1
    html, text = messages[999]
    assert "Läsare 999" in html and "https://lansnytt.example/avregistrera/999/" in html
    assert "https://lansnytt.example/prenumeration/999/" in text
    assert not any(placeholder in html + text for placeholder in personalisation.ALL)


def test_it_reads_the_rendering_from_the_database_in_another_process(issue, mjml_calls):
    first = issue_render(issue=issue)
    rendering._memo.clear()  # what a fresh worker process starts with

    again = issue_render(issue=issue)

    assert len(mjml_calls) == 1
    assert again == first
    assert issue.renderings.count() == 1


def test_it_renders_again_when_an_article_changes(issue, mjml_calls):
    before = issue_render(issue=issue)
    article = issue.articles.first()
    article.heading = "Bokstart i Botkyrka"
    article.save()

    after = issue_render(issue=issue)

    assert len(mjml_calls) == 2
    assert after.version != before.version
    assert "Bokstart i Botkyrka" in after.html and "Bokstart i Botkyrka" in after.text
    assert issue.renderings.count() == 1  # the outdated rendering is gone


def test_it_renders_in_english_when_asked(issue):
    rendered = issue_render(issue=issue, language="en")
    assert rendered.language == "en"
    assert re.search(r'<html[^>]*\blang="en"', rendered.html)
    assert "View in browser" in rendered.html
    assert "Read more: http://localhost:8000/arkiv/2018-1/kommer-boken/" in rendered.text


def test_it_escapes_the_name_in_the_html_but_not_in_the_text(issue):
    html, text = issue_personalise(
        issue_render(issue=issue),
        name="<b>Kim</b> & Co",
        preferences_url="https://x.example/p/1/",
        unsubscribe_url="https://x.example/u/1/",
    )
    assert "&lt;b&gt;Kim&lt;/b&gt; &amp; Co" in html and "<b>Kim</b>" not in html
    assert "Hej <b>Kim</b> & Co!" in text


def test_it_greets_a_reader_without_a_name_without_a_gap(issue):
    html, text = issue_personalise(
        issue_render(issue=issue), name="", preferences_url="p", unsubscribe_url="u"
    )
    assert "Hej läsare!" in text and "Hej läsare!" in html


@pytest.fixture
def broken_template(settings, tmp_path):
    def install(source: str) -> None:
        (tmp_path / "email").mkdir(exist_ok=True)
        (tmp_path / "email" / "issue.mjml").write_text(source, encoding="utf-8")
        settings.TEMPLATES = [
            {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
        ]

    return install


def test_it_reports_broken_mjml_clearly(issue, broken_template):
    broken_template("<mjml><mj-body><mj-section><mj-column></mj-body></mjml>")

    with pytest.raises(RenderingError, match="MJML-fel i email/issue.mjml"):
        issue_render(issue=issue)


def test_it_reports_a_broken_django_template_clearly(issue, broken_template):
    broken_template("<mjml>{% if %}</mjml>")

    with pytest.raises(RenderingError, match="Fel i e-postmallen"):
        issue_render(issue=issue)


def test_it_marks_every_layout_table_as_presentation_and_refuses_images_without_alt():
    finished = rendering._html_finish(
        '<html lang="sv"><head></head><body><table><tr><td>x</td></tr></table>'
        '<table role="presentation"></table></body></html>'
    )
    assert finished.startswith("<!doctype html>")
    assert finished.count('role="presentation"') == 2
    assert '<meta name="color-scheme" content="light dark">' in finished

    with pytest.raises(RenderingError, match="Bild utan alternativtext"):
        rendering._html_finish('<html><head></head><body><img src="a.png"></body></html>')
