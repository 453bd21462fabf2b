"""Legal deposit (e-plikt): a published issue's PDF edition and its metadata, as files to
deliver to Kungliga biblioteket under the act on legal deposit of electronic material
(SFS 2012:492).

The act asks for where and when the material was first made available, in what format, any
codes needed to open it, and how it relates to other deposited material (here: the printed
edition, deposited under SFS 1993:1392 with its own ISSN). KB's web delivery form and its
network deliveries ask for the bibliographic basics besides: title, issue, date, publisher,
ISSN, language. The metadata file carries all of that, plus a checksum of the PDF, in one
documented JSON object (README, "Legal deposit"), from which an operator fills in KB's
form or builds a delivery package.
"""

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _

from ..colophon import colophon
from ..content import absolute_url
from ..models import Issue, IssueEdition
from ..selectors import articles_for_web
from .pdf import PDF_VARIANT, edition_filename, issue_edition

METADATA_SCHEMA = "lansnytt-legal-deposit/1"
# ISO 639-2/B, the code library catalogues (MARC, MODS) use; the PDF itself says "sv".
LIBRARY_LANGUAGE_CODES = {"sv": "swe", "en": "eng"}


class DepositRefused(Exception):
    """The issue cannot be deposited (it is not published); the message says why."""


@dataclass(frozen=True)
class DepositFiles:
    pdf: Path
    metadata: Path


def legal_deposit_metadata(*, issue: Issue, edition: IssueEdition) -> dict:
    """The metadata of one deposited issue (the fields are described in the README)."""
    info = colophon()
    pdf_bytes = bytes(edition.pdf)
    return {
        "schema": METADATA_SCHEMA,
        "title": issue.title,
        "serial_title": "Länsnytt",
        "issue": {
            "year": issue.year,
            "number": issue.number,
            "designation": f"{issue.year}:{issue.number}",
        },
        "publication_date": issue.publication_date.isoformat() if issue.publication_date else None,
        "first_made_available": {
            "url": absolute_url(issue.get_pdf_url()),
            "date": issue.publication_date.isoformat() if issue.publication_date else None,
        },
        "publisher": info.publisher_name,
        "publisher_address": info.publisher_address,
        "responsible_publisher": info.responsible_publisher or None,
        "issn": {"online": info.issn_online or None, "print": info.issn_print or None},
        "language": {
            "bcp47": issue.language,
            "iso639_2": LIBRARY_LANGUAGE_CODES.get(issue.language),
        },
        "format": {
            "media_type": "application/pdf",
            "conforms_to": PDF_VARIANT.upper(),
            "pages": edition.pages,
        },
        # The act asks for any codes that open a protected file: there are none.
        "access_restrictions": None,
        "file": {
            "name": edition_filename(issue),
            "bytes": len(pdf_bytes),
            "sha256": hashlib.sha256(pdf_bytes).hexdigest(),
            "sha512": hashlib.sha512(pdf_bytes).hexdigest(),
        },
        "relations": {
            "web_version": absolute_url(issue.get_absolute_url()),
            "printed_edition_issn": info.issn_print or None,
        },
        "contents": [
            {"kicker": article.kicker or None, "heading": article.heading}
            for article in articles_for_web(issue=issue)
        ],
        "content_version": edition.version,
        "exported_at": timezone.now().isoformat(timespec="seconds"),
    }


def legal_deposit_export(*, issue: Issue, output_dir: Path) -> DepositFiles:
    """Write lansnytt-<issue>.pdf and lansnytt-<issue>.json into `output_dir`.

    Refuses an issue that is not published (DepositRefused): a draft is not published
    material, and its PDF must not leave the house as if it were. Both files are written
    to temporary names in the same directory first and renamed into place only when both
    are complete, so an error leaves no half-written file behind (and no stale one replaced
    by half of a new one)."""
    if not issue.is_published:
        raise DepositRefused(
            _(
                "%(issue)s är inte publicerat (status: %(status)s): bara publicerade nummer "
                "lämnas som pliktexemplar."
            )
            % {"issue": issue.title, "status": issue.get_status_display()}
        )
    edition = issue_edition(issue=issue)
    metadata = legal_deposit_metadata(issue=issue, edition=edition)
    output_dir.mkdir(parents=True, exist_ok=True)
    pdf_path = output_dir / edition_filename(issue)
    metadata_path = pdf_path.with_suffix(".json")
    encoded = (json.dumps(metadata, ensure_ascii=False, indent=2) + "\n").encode()
    written: list[Path] = []
    try:
        pdf_temporary = _write_temporary(output_dir, bytes(edition.pdf), written)
        metadata_temporary = _write_temporary(output_dir, encoded, written)
        os.replace(pdf_temporary, pdf_path)
        os.replace(metadata_temporary, metadata_path)
    finally:
        for path in written:
            path.unlink(missing_ok=True)
    return DepositFiles(pdf=pdf_path, metadata=metadata_path)


def _write_temporary(directory: Path, content: bytes, written: list[Path]) -> Path:
    handle, name = tempfile.mkstemp(dir=directory, prefix=".lansnytt-", suffix=".part")
    path = Path(name)
    written.append(path)
    with os.fdopen(handle, "wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    return path
