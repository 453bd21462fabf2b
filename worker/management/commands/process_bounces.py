"""Read bounces (DSNs) and complaints (ARF reports) from files or a Maildir and apply them."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from subscribers.models import ConsentSource
from worker.bounces.intake import KEPT, bounce_message_process


def _message_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise CommandError(f"{path}: finns inte")
    maildir = [path / "new", path / "cur"]
    folders = [folder for folder in maildir if folder.is_dir()] or [path]
    return sorted(file for folder in folders for file in folder.iterdir() if file.is_file())


def _read_start(file: Path) -> tuple[bytes, int]:
    """The message, or only its start when it is over the size limit."""
    size = file.stat().st_size
    with file.open("rb") as message:
        limit = settings.BOUNCE_MESSAGE_MAX_BYTES
        return message.read(limit if size <= limit else settings.BOUNCE_KEPT_MAX_BYTES), size


class Command(BaseCommand):
    help = (
        "Läser studsrapporter (DSN och andra format) och klagomål (ARF) från filer, en "
        "katalog eller en Maildir och tillämpar dem: leveransen, prenumeranten och "
        "spärrlistan. Det som inte går att läsa sparas för personalen."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "paths", nargs="+", metavar="PATH", help=".eml-fil, katalog eller Maildir"
        )
        parser.add_argument(
            "--delete",
            action="store_true",
            help="Ta bort varje fil som har behandlats (sparade meddelanden tas aldrig bort).",
        )

    def handle(self, *args, paths: list[str], delete: bool, **options) -> None:
        counts = {"applied": 0, "ignored": 0, KEPT: 0}
        for path in paths:
            for file in _message_files(Path(path)):
                raw, size = _read_start(file)
                outcome = bounce_message_process(
                    raw=raw, size=size, source=ConsentSource.BOUNCE_FILE, origin=str(file)
                )
                counts[outcome.status] += 1
                self.stdout.write(f"{file.name}: {outcome.text}")
                if delete and outcome.status != KEPT:
                    file.unlink()
        self.stdout.write(
            f"{counts['applied']} applied, {counts['ignored']} ignored, "
            f"{counts[KEPT]} kept for staff."
        )
