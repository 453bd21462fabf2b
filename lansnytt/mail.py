"""The embedded default email backend: one .eml file per message under var/outbox/."""

import uuid
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from .generated_files import OUTBOX, generated_dir


def outbox_write(message_bytes: bytes, *, outbox_dir: Path | None = None) -> Path:
    """Write one RFC 5322 message as an .eml file and return its path."""
    directory = Path(outbox_dir or generated_dir(OUTBOX))
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:12]}.eml"
    path = directory / name
    # Written under a temporary name first so a reader never sees half a message.
    partial = path.with_suffix(".part")
    partial.write_bytes(message_bytes)
    partial.rename(path)
    return path


class EmlFileBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        for message in email_messages:
            outbox_write(message.message().as_bytes(linesep="\r\n"))
        return len(email_messages)
