"""legal_deposit_export: a published issue's PDF and its metadata for Kungliga biblioteket,
written atomically; an unpublished issue is refused."""

import hashlib
import json
import os

import pytest
from django.core.management import CommandError, call_command

from newsletter.edition import deposit
from newsletter.models import IssueEdition, IssueStatus
from tests.factories import sendable_issue_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = "https://lansnytt.example.org"
    settings.RESPONSIBLE_PUBLISHER = "Karin Lindqvist"
    settings.ISSN_PRINT = "0317-8471"
    settings.ISSN_ONLINE = "2049-3630"
    from datetime import date

    return sendable_issue_make(status=IssueStatus.PUBLISHED, publication_date=date(2018, 3, 15))


def test_it_writes_the_pdf_and_its_metadata(published, tmp_path):
    output = tmp_path / "plikt"

    call_command("legal_deposit_export", "2018-1", "--output", str(output))

    pdf = (output / "lansnytt-2018-1.pdf").read_bytes()
    metadata = json.loads((output / "lansnytt-2018-1.json").read_text(encoding="utf-8"))
    assert pdf == bytes(IssueEdition.objects.get(issue=published).pdf)
    assert metadata["schema"] == "lansnytt-legal-deposit/1"
    assert metadata["title"] == "Länsnytt 2018:1"
    assert metadata["issue"] == {"year": 2018, "number": 1, "designation": "2018:1"}
    assert metadata["publication_date"] == "2018-03-15"
    assert metadata["first_made_available"] == {
        "url": "https://lansnytt.example.org/arkiv/2018-1/lansnytt-2018-1.pdf",
        "date": "2018-03-15",
    }
    assert metadata["publisher"] == "Regionbibliotek Stockholm"
    assert metadata["responsible_publisher"] == "Karin Lindqvist"
    assert metadata["issn"] == {"online": "2049-3630", "print": "0317-8471"}
    assert metadata["language"] == {"bcp47": "sv", "iso639_2": "swe"}
    assert metadata["format"]["media_type"] == "application/pdf"
    assert metadata["format"]["conforms_to"] == "PDF/UA-1"
    assert metadata["file"]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert metadata["file"]["bytes"] == len(pdf)
    assert [entry["heading"] for entry in metadata["contents"]] == [
        a.heading for a in published.articles.order_by("position")
    ]
    assert sorted(os.listdir(output)) == ["lansnytt-2018-1.json", "lansnytt-2018-1.pdf"]


@pytest.mark.parametrize("status", [IssueStatus.DRAFT, IssueStatus.READY])
def test_it_refuses_an_unpublished_issue(status, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    sendable_issue_make(status=status)
    output = tmp_path / "plikt"

    with pytest.raises(CommandError, match="inte publicerat"):
        call_command("legal_deposit_export", "2018-1", "--output", str(output))

    assert not output.exists() or list(output.iterdir()) == []
    assert not IssueEdition.objects.exists()


def test_it_names_an_issue_that_does_not_exist(tmp_path):
    with pytest.raises(CommandError, match="2099-9"):
        call_command("legal_deposit_export", "2099-9", "--output", str(tmp_path))


def test_it_leaves_no_half_written_file_when_writing_fails(published, tmp_path, monkeypatch):
    output = tmp_path / "plikt"
    output.mkdir()
    (output / "lansnytt-2018-1.pdf").write_bytes(b"the earlier export")
    real = deposit._write_temporary
    calls = []

    def failing_second(directory, content, written):
        calls.append(1)
        if len(calls) == 2:
            real(directory, content[: len(content) // 2], written)  # half of it, then
            raise OSError(28, "No space left on device")
        return real(directory, content, written)

    monkeypatch.setattr(deposit, "_write_temporary", failing_second)

    with pytest.raises(OSError):
        call_command("legal_deposit_export", "2018-1", "--output", str(output))

    assert os.listdir(output) == ["lansnytt-2018-1.pdf"]
    assert (output / "lansnytt-2018-1.pdf").read_bytes() == b"the earlier export"
