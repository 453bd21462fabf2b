"""The files lansnytt writes under VAR_DIR, and what erasing a person does to each kind.

Every writer of a generated file asks `generated_dir()` for its directory, so the table below
is the whole list (tests/architecture checks that no other module builds a path under
VAR_DIR), and erasure (`generated_files_forget`) walks all of it. A new kind of generated file
means a new row here, and the row has to say what erasure does to it.

Only files on this machine can be reached: an export written elsewhere with `-o`, or an
outbox of a worker on another machine, is the operator's to delete.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses
from enum import Enum
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)


class Forgetting(Enum):
    """What erasing a person does to the files of one kind."""

    # Files of one message each: those naming the person's address go.
    FILES_NAMING_THE_ADDRESS = "files naming the address"
    # Lists of many people that cannot be searched reliably (XLSX is zipped, PDF labels are
    # compressed and shortened to fit) and that their command makes again in a second: all go.
    EVERY_FILE = "every file"
    # Holds nobody's data.
    NOTHING = "nothing"


@dataclass(frozen=True)
class GeneratedFiles:
    directory: Callable[[], Path]
    forgetting: Forgetting
    what: str


EDITIONS = "edition"
OUTBOX = "outbox"
PRINT_EXPORTS = "print"
RENDERINGS = "render"

GENERATED: dict[str, GeneratedFiles] = {
    EDITIONS: GeneratedFiles(
        directory=lambda: Path(settings.VAR_DIR) / "edition",
        forgetting=Forgetting.NOTHING,
        what="the demo issue's PDF edition and its legal deposit metadata (no subscriber's data)",
    ),
    OUTBOX: GeneratedFiles(
        directory=lambda: Path(settings.EMAIL_OUTBOX_DIR),
        forgetting=Forgetting.FILES_NAMING_THE_ADDRESS,
        what="every email of the embedded default (EMAIL_URL unset), one .eml file each",
    ),
    PRINT_EXPORTS: GeneratedFiles(
        directory=lambda: Path(settings.VAR_DIR) / "print",
        forgetting=Forgetting.EVERY_FILE,
        what="print lists and address labels written by export_print and the demo",
    ),
    RENDERINGS: GeneratedFiles(
        directory=lambda: Path(settings.VAR_DIR) / "render",
        forgetting=Forgetting.NOTHING,
        what="the demo issue rendered with sample personal values, no subscriber's",
    ),
}

_RECIPIENT_HEADERS = ("to", "cc", "bcc", "delivered-to", "x-original-to", "reply-to")


def generated_dir(kind: str) -> Path:
    """The directory of one kind of generated file (read at call time, so tests can move it)."""
    return GENERATED[kind].directory()


def generated_files_forget(*, email: str) -> list[Path]:
    """Delete every generated file that may hold the person with this address.

    Returns the deleted paths. Idempotent: a second call finds nothing left to delete.
    """
    address = email.strip().lower()
    deleted: list[Path] = []
    for kind, generated in GENERATED.items():
        if generated.forgetting is Forgetting.NOTHING:
            continue
        directory = generated.directory()
        if not directory.is_dir():
            continue
        found = [
            path
            for path in sorted(directory.rglob("*"))
            if path.is_file()
            and not path.is_symlink()
            and (generated.forgetting is Forgetting.EVERY_FILE or _message_names(path, address))
        ]
        for path in found:
            path.unlink(missing_ok=True)
        if found:
            # The count only: the log must not become the next copy of the person.
            logger.info("erasure: deleted %d generated file(s) of kind %s", len(found), kind)
        deleted.extend(found)
    return deleted


def _message_names(path: Path, address: str) -> bool:
    """Whether a stored message is to or about the address: in a recipient header (parsed,
    so an encoded display name does not hide it), or in the raw or decoded text as a whole
    address (not inside a longer one such as `x.karin@...` or `...@example.se.example.org`)."""
    raw = path.read_bytes()
    whole_address = re.compile(
        r"(?<![\w.+-])" + re.escape(address) + r"(?!\.?[\w-])", re.IGNORECASE | re.ASCII
    )
    message = BytesParser(policy=policy.default).parsebytes(raw)
    values = [str(value) for name in _RECIPIENT_HEADERS for value in message.get_all(name, [])]
    if any(found.strip().lower() == address for _name, found in getaddresses(values)):
        return True
    texts = [raw.decode("utf-8", "replace")]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            try:
                texts.append(part.get_content())
            except (LookupError, ValueError):
                pass  # an undecodable part: the raw text above still counts
    return any(whole_address.search(text) for text in texts)
