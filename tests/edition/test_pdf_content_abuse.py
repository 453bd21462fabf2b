"""What editors write reaches the PDF as text: markup in headings, leads and alternative
texts is printed, not interpreted; article bodies go through the same sanitiser as the web;
and WeasyPrint opens nothing but the issue's own uploads."""

import io

import pikepdf
import pytest
import weasyprint

from newsletter.content import media_url
from newsletter.edition.fetcher import EditionFetcher
from newsletter.edition.pdf import edition_html, issue_edition
from tests.edition.pdfs import pdf_text, structure_elements
from tests.factories import article_make, sendable_issue_make

pytestmark = pytest.mark.django_db

MARKUP = '<script>alert("x")</script><b>fet</b> & "citat"'


@pytest.fixture
def issue(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return sendable_issue_make()


def test_it_prints_markup_in_a_heading_and_a_lead_as_text(issue):
    article_make(issue=issue, heading=f"Rubrik {MARKUP}", lead=f"Ingress {MARKUP}")

    text = pdf_text(bytes(issue_edition(issue=issue).pdf))

    assert '<script>alert("x")</script><b>fet</b>' in text.replace("\n", "")


def test_it_escapes_markup_in_the_html_it_lays_out(issue):
    article_make(issue=issue, heading=f"Rubrik {MARKUP}")

    html = edition_html(issue=issue, articles=list(issue.articles.all()))

    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_it_removes_scripts_styles_and_images_from_a_markdown_body(issue):
    article_make(
        issue=issue,
        heading="Brödtext med HTML",
        body="Text <script>alert(1)</script><style>body{display:none}</style>"
        '<img src="http://169.254.169.254/latest/meta-data/" alt="x">'
        '<iframe src="file:///etc/passwd"></iframe> slut.',
    )

    html = edition_html(issue=issue, articles=list(issue.articles.all()))

    for forbidden in ("<script", "<style>body", "169.254.169.254", "<iframe", "file:///"):
        assert forbidden not in html.split("</style>", 1)[1]


def test_it_keeps_markup_in_an_alternative_text_as_the_figures_text(issue, settings):
    from newsletter.demo import ARTICLES, _demo_image

    alt = 'Bild"><img src=x onerror=alert(1)> av en bokhylla'
    article_make(issue=issue, heading="Med bild", image=_demo_image(ARTICLES[0]), image_alt=alt)

    pdf = pikepdf.open(io.BytesIO(bytes(issue_edition(issue=issue).pdf)))

    figures = [e for e in structure_elements(pdf) if e.S == "/Figure"]
    assert [str(figure.Alt) for figure in figures] == [alt]


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://example.org/bild.png",
        "file:///etc/passwd",
        "data:image/png;base64,iVBORw0KGgo=",
    ],
)
def test_it_fetches_nothing_outside_the_uploads(url):
    with pytest.raises(ValueError):
        EditionFetcher().fetch(url)


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "articles/../../settings.py", "%2e%2e/%2e%2e/etc/passwd", ""]
)
def test_it_fetches_no_file_outside_the_media_directory(name, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "settings.py").write_text("SECRET")

    with pytest.raises(ValueError):
        EditionFetcher().fetch(media_url("") + name)


def test_it_fetches_an_upload_from_storage(issue):
    from newsletter.demo import ARTICLES, _demo_image

    name = _demo_image(ARTICLES[0])

    response = EditionFetcher().fetch(media_url(name))

    assert response.read().startswith(b"\x89PNG")
    assert isinstance(response, weasyprint.urls.URLFetcherResponse)
