"""Read delivery status notifications (bounces) from files or a Maildir and apply them."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from worker.bounces import NotABounce, bounce_parse, bounce_record


def _message_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise CommandError(f"{path}: finns inte")
    maildir = [path / "new", path / "cur"]
    folders = [folder for folder in maildir if folder.is_dir()] or [path]
    return sorted(file for folder in folders for file in folder.iterdir() if file.is_file())


class Command(BaseCommand):
    help = (
        "Läser studsrapporter (DSN) från filer, en katalog eller en Maildir och markerar "
        "permanenta studsar: leveransen, prenumeranten och spärrlistan."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "paths", nargs="+", metavar="PATH", help=".eml-fil, katalog eller Maildir"
        )
        parser.add_argument(
            "--delete", action="store_true", help="Ta bort varje fil som har behandlats."
        )

    def handle(self, *args, paths: list[str], delete: bool, **options) -> None:
        counts = {"bounced": 0, "ignored": 0, "not_bounce": 0}
        for path in paths:
            for file in _message_files(Path(path)):
                try:
                    outcome = bounce_record(bounce_parse(file.read_bytes()))
                except NotABounce as error:
                    counts["not_bounce"] += 1
                    self.stdout.write(f"{file.name}: not a bounce ({error})")
                    continue
                counts["bounced" if outcome.startswith("bounced") else "ignored"] += 1
                self.stdout.write(f"{file.name}: {outcome}")
                if delete:
                    file.unlink()
        self.stdout.write(
            f"{counts['bounced']} bounced, {counts['ignored']} ignored, "
            f"{counts['not_bounce']} not bounces."
        )
