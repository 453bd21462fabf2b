"""The PDF edition on the web: /arkiv/<issue>/lansnytt-<issue>.pdf for published issues only,
generated once per content version and again after an edit; linked from the archive, the
issue page and (as the printer's proof) the print page."""

import threading

import pytest
from django.db import connection
from django.test import Client

from accounts.roles import DISTRIBUTION_STAFF
from newsletter.edition import pdf as edition_pdf
from newsletter.models import IssueEdition, IssueStatus
from tests.factories import article_make, sendable_issue_make, staff_user_make

pytestmark = pytest.mark.django_db

PDF_URL = "/arkiv/2018-1/lansnytt-2018-1.pdf"


@pytest.fixture
def generations(monkeypatch):
    """How many times WeasyPrint ran (the one call into it is counted, not replaced)."""
    calls = []
    real = edition_pdf.edition_pdf_generate

    def counting(**kwargs):
        calls.append(kwargs["issue"].pk)
        return real(**kwargs)

    monkeypatch.setattr(edition_pdf, "edition_pdf_generate", counting)
    return calls


@pytest.fixture
def published(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return sendable_issue_make(status=IssueStatus.PUBLISHED)


def test_it_serves_a_published_issues_pdf(client, published):
    response = client.get(PDF_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-1.7")
    assert response["Content-Disposition"] == 'inline; filename="lansnytt-2018-1.pdf"'
    assert "public" in response["Cache-Control"]


def test_it_generates_the_pdf_once_per_version(client, published, generations):
    first = client.get(PDF_URL)
    second = client.get(PDF_URL)

    assert generations == [published.pk]
    assert first.content == second.content
    assert IssueEdition.objects.filter(issue=published).count() == 1


def test_it_answers_not_modified_to_a_reader_who_has_it(client, published):
    etag = client.get(PDF_URL)["ETag"]

    response = client.get(PDF_URL, headers={"if-none-match": etag})

    assert response.status_code == 304


def test_it_makes_a_new_pdf_when_an_article_is_corrected(client, published, generations):
    from newsletter.corrections import issue_correction

    before = client.get(PDF_URL).content
    article = published.articles.first()
    article.body = "Nu med **helt ny** brödtext om meröppna bibliotek."
    with issue_correction(issue=published, reason="Ny brödtext", actor=None):
        article.save()

    after = client.get(PDF_URL).content

    assert before != after
    assert len(generations) == 2
    assert IssueEdition.objects.filter(issue=published).count() == 1  # the old one is gone


@pytest.mark.parametrize("status", [IssueStatus.DRAFT, IssueStatus.READY])
def test_it_does_not_show_an_unpublished_issues_pdf_to_anyone(status, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    issue = sendable_issue_make(status=status, title="Länsnytt 2018:1 HEMLIG")
    editor = staff_user_make(username="redaktor", is_superuser=True)
    staff = Client()
    staff.force_login(editor)

    for visitor in (Client(), staff):
        response = visitor.get(PDF_URL)
        assert response.status_code == 404
        assert b"HEMLIG" not in response.content
    assert not IssueEdition.objects.filter(issue=issue).exists()


@pytest.mark.parametrize(
    "path",
    [
        "/arkiv/2018-1/lansnytt-2018-2.pdf",  # another issue's file name
        "/arkiv/2018-2/lansnytt-2018-2.pdf",  # no such issue
        "/arkiv/2018-1/lansnytt-..%2F..%2Fetc%2Fpasswd.pdf",
        "/arkiv/2018-1/lansnytt-%2e%2e.pdf",
        "/arkiv/2018-1/lansnytt-2018-1.pdf/",
        "/arkiv/2018-1/lansnytt-2018-1.PDF",
        "/arkiv/2018-1/lansnytt-2018-1.pdf%00.html",
        "/arkiv/..%2F2018-1/lansnytt-2018-1.pdf",
        "/arkiv/2018-1/lansnytt-.pdf",
    ],
)
def test_it_answers_404_to_odd_file_names(path, client, published):
    assert client.get(path).status_code == 404


def test_it_refuses_to_change_anything_by_post(client, published):
    assert client.post(PDF_URL).status_code == 405


def test_it_links_the_pdf_from_the_archive_and_the_issue_page(client, published):
    archive = client.get("/arkiv/").content.decode()
    page = client.get("/arkiv/2018-1/").content.decode()

    assert f'href="{PDF_URL}"' in archive
    assert f'href="{PDF_URL}"' in page


def test_it_links_no_pdf_from_a_draft_preview(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    sendable_issue_make(status=IssueStatus.READY)
    client = Client()
    client.force_login(staff_user_make(username="redaktor", is_superuser=True))

    page = client.get("/arkiv/2018-1/").content.decode()

    assert page.count("lansnytt-2018-1.pdf") == 0


def test_it_gives_distribution_staff_the_proof_of_an_unpublished_issue(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    issue = sendable_issue_make(status=IssueStatus.READY)
    client = Client()
    client.force_login(staff_user_make(username="tryck", groups=[DISTRIBUTION_STAFF]))

    page = client.get("/personal/tryck/2018-1/").content.decode()
    proof = client.get("/personal/tryck/2018-1/korrektur.pdf")

    assert 'href="/personal/tryck/2018-1/korrektur.pdf"' in page
    assert proof.status_code == 200
    assert proof.content.startswith(b"%PDF")
    assert "no-store" in proof["Cache-Control"] and "private" in proof["Cache-Control"]
    # Once published, readers get the very file the printer proofed.
    issue.status = IssueStatus.PUBLISHED
    issue.save()
    assert Client().get(PDF_URL).content == proof.content


@pytest.mark.django_db(transaction=True)
def test_it_generates_once_when_two_readers_ask_at_the_same_moment(
    published, generations, live_server
):
    import urllib.request

    barrier = threading.Barrier(2)
    bodies: list[bytes] = []

    def read() -> None:
        barrier.wait()
        with urllib.request.urlopen(live_server.url + PDF_URL, timeout=120) as response:
            bodies.append(response.read())

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(timeout=180)
    connection.close()

    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert generations == [published.pk]
    assert IssueEdition.objects.filter(issue=published).count() == 1


def test_it_fits_a_huge_issue_and_still_generates_it_once(client, published, generations):
    # WeasyPrint's time grows with the text (this one, 60 kB: about 5 s here); the
    # edition is stored, so only the first reader after an edit waits.
    for number in range(40):
        article_make(
            issue=published,
            heading=f"Rapport {number} från länets bibliotek",
            body="\n\n".join(["Ett stycke om bibliotekens arbete i länet. " * 12] * 3),
        )

    first = client.get(PDF_URL)
    second = client.get(PDF_URL)

    assert first.status_code == second.status_code == 200
    assert generations == [published.pk]
    assert IssueEdition.objects.get(issue=published).pages > 20
