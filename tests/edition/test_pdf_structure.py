"""The demo issue's PDF edition is an accessible PDF (DOS-lagen, PDF/UA-1): tagged, in the
issue's language, titled, an outline entry per article, alternative text on every image,
fonts embedded, A4; and its pages are rendered to PNG for a person to look at."""

import io

import pikepdf
import pytest

from newsletter.colophon import colophon
from newsletter.demo import demo_issue_ensure
from newsletter.edition.pdf import issue_edition
from tests.edition.pdfs import (
    fonts_not_embedded,
    outline_titles,
    pages_to_png,
    pdf_text,
    structure_elements,
)

pytestmark = pytest.mark.django_db

A4_POINTS = (595.28, 841.89)
# WeasyPrint takes seconds: the demo's edition is made once for the module's tests (each
# test still gets its own database with the demo issue in it).
_made: dict[str, object] = {}


@pytest.fixture
def demo(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RESPONSIBLE_PUBLISHER = "Karin Lindqvist"
    settings.ISSN_PRINT = "0317-8471"
    settings.ISSN_ONLINE = "2049-3630"
    issue = demo_issue_ensure()
    if "edition" not in _made:
        _made["edition"] = issue_edition(issue=issue)
    edition = _made["edition"]
    return {
        "issue": issue,
        "edition": edition,
        "pdf": pikepdf.open(io.BytesIO(bytes(edition.pdf))),
        "articles": list(issue.articles.order_by("position")),
    }


def test_it_is_tagged_as_pdf_ua(demo):
    pdf = demo["pdf"]

    assert pdf.Root.MarkInfo.Marked is True
    assert "/StructTreeRoot" in pdf.Root
    with pdf.open_metadata() as xmp:
        assert xmp.get("pdfuaid:part") == "1"


def test_it_says_its_language_and_shows_its_title(demo):
    pdf = demo["pdf"]

    assert str(pdf.Root.Lang) == "sv"
    assert str(pdf.docinfo.Title) == "Länsnytt 2018:1"
    assert pdf.Root.ViewerPreferences.DisplayDocTitle is True


def test_it_has_an_outline_entry_for_each_article(demo):
    titles = outline_titles(demo["pdf"])

    for article in demo["articles"]:
        assert article.heading in titles
    assert titles.index(demo["articles"][0].heading) < titles.index(demo["articles"][-1].heading)


def test_it_gives_every_image_its_alternative_text(demo):
    figures = [e for e in structure_elements(demo["pdf"]) if e.S == "/Figure"]

    assert [str(figure.Alt) for figure in figures] == [a.image_alt for a in demo["articles"]]


def test_it_reads_in_the_order_of_the_issue(demo):
    kinds = [str(e.S) for e in structure_elements(demo["pdf"])]
    text = pdf_text(bytes(demo["edition"].pdf))
    positions = [text.find(a.heading[:30]) for a in demo["articles"]]

    assert kinds.index("/H1") < kinds.index("/H2")  # the masthead comes first
    assert kinds.count("/H2") >= len(demo["articles"])
    # The table of contents names every article first; the articles follow in their order.
    assert all(p >= 0 for p in positions) and positions == sorted(positions)


def test_it_embeds_every_font(demo):
    assert fonts_not_embedded(demo["pdf"]) == []


def test_it_is_a4(demo):
    for page in demo["pdf"].pages:
        width, height = (float(v) for v in page.MediaBox[2:])
        assert (round(width, 1), round(height, 1)) == (
            round(A4_POINTS[0], 1),
            round(A4_POINTS[1], 1),
        )


def test_it_prints_the_colophon(demo):
    text = pdf_text(bytes(demo["edition"].pdf))
    info = colophon()

    assert "Ansvarig utgivare: Karin Lindqvist" in text
    assert f"ISSN (tryckt): {info.issn_print}" in text
    assert f"ISSN (online): {info.issn_online}" in text


def test_it_renders_the_pages_for_a_person_to_look_at(demo, artefacts_dir):
    pages = pages_to_png(bytes(demo["edition"].pdf), artefacts_dir / "edition", prefix="demo")

    assert len(pages) == demo["edition"].pages == len(demo["pdf"].pages)
    assert all(page.stat().st_size > 10_000 for page in pages)


def test_it_says_the_language_of_an_issue_in_english(settings, tmp_path):
    from tests.factories import sendable_issue_make

    settings.MEDIA_ROOT = tmp_path / "media"
    issue = sendable_issue_make(language="en", title="Länsnytt 2018:1 in English")

    edition = issue_edition(issue=issue)

    pdf = pikepdf.open(io.BytesIO(bytes(edition.pdf)))
    assert str(pdf.Root.Lang) == "en"
    assert "No. 1 · 2018" in pdf_text(bytes(edition.pdf))


def test_it_leaves_out_an_email_only_article_and_keeps_a_web_only_one(settings, tmp_path):
    from newsletter.models import ArticleChannel

    settings.MEDIA_ROOT = tmp_path / "media"
    issue = demo_issue_ensure()
    first, second = list(issue.articles.order_by("position"))[:2]
    first.channel = ArticleChannel.EMAIL_ONLY
    first.save()
    second.channel = ArticleChannel.WEB_ONLY
    second.save()

    pdf = pikepdf.open(io.BytesIO(bytes(issue_edition(issue=issue).pdf)))

    titles = outline_titles(pdf)
    assert first.heading not in titles
    assert second.heading in titles
