"""legal_deposit_export ISSUE_SLUG --output DIR: a published issue's PDF edition and its
metadata, for delivery to Kungliga biblioteket (newsletter.edition.deposit)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from newsletter.edition.deposit import DepositRefused, legal_deposit_export
from newsletter.models import Issue


class Command(BaseCommand):
    help = (
        "Skriver ett publicerat nummers PDF-utgåva och dess metadata (JSON) för leverans av "
        "pliktexemplar (e-plikt) till Kungliga biblioteket."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("issue_slug", metavar="ISSUE_SLUG", help="T.ex. 2018-1")
        parser.add_argument(
            "-o", "--output", metavar="DIR", required=True, help="Katalog att skriva filerna i."
        )

    def handle(self, *args, issue_slug: str, output: str, **options):
        issue = Issue.objects.filter(slug=issue_slug).first()
        if issue is None:
            raise CommandError(f"Inget nummer med kortnamnet {issue_slug!r}.")
        try:
            files = legal_deposit_export(issue=issue, output_dir=Path(output))
        except DepositRefused as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{issue}: {files.pdf} och {files.metadata}")
