from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.services import command_line
from subscribers.importing import subscribers_import
from subscribers.importing.errors import ImportLimitExceeded
from subscribers.importing.limits import ImportLimits


class Command(BaseCommand):
    help = (
        "Importerar prenumeranter från en CSV- eller Excel-fil (.xlsx). Allt eller inget: "
        "en felaktig rad gör att ingenting sparas."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="CSV (komma eller semikolon, UTF-8) eller .xlsx")
        parser.add_argument(
            "--segment",
            action="append",
            default=[],
            dest="segments",
            metavar="SLUG",
            help="Lägg alla importerade i detta segment (kan anges flera gånger).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Kontrollera filen utan att spara något."
        )
        parser.add_argument(
            "--update", action="store_true", help="Ändra uppgifterna för befintliga prenumeranter."
        )

    def handle(self, *args, path: str, segments: list[str], dry_run: bool, update: bool, **options):
        source = Path(path)
        if not source.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            # Before reading: a file over the limit is never read into memory.
            ImportLimits.from_settings().size_check(size=source.stat().st_size)
        except ImportLimitExceeded as error:
            raise CommandError(f"{path}: {error}", returncode=1) from error
        report = subscribers_import(
            content=source.read_bytes(),
            filename=source.name,
            segment_slugs=segments,
            update=update,
            dry_run=dry_run,
            actor=command_line("import_subscribers"),
        )
        lines = report.lines()
        if not report.ok:
            for line in lines:
                self.stderr.write(line)
            # CommandError gives exit status 1 from the command line; call_command raises it.
            raise CommandError(lines[0], returncode=1)
        for line in lines:
            self.stdout.write(line)
