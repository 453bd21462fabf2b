"""The demo: seed → compose → render → send → export, on whatever the environment configures.

Lives in `worker` because it is the one app allowed to use both `newsletter` and
`subscribers`.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Kör demon: demodata, nummer, rendering, utskick och tryckexport."

    def handle(self, *args, **options) -> None:
        call_command("seed_demo", stdout=self.stdout, stderr=self.stderr)
        # Next steps, added by their features: render the demo issue, send it to every
        # segment, export its print list.
        self._print_list_export()

    def _print_list_export(self) -> None:
        """Export the demo issue's print list to var/print/ and print its totals."""
        from django.conf import settings

        from newsletter.models import Issue

        if not Issue.objects.filter(slug="2018-1").exists():
            self.stdout.write("Tryckexport hoppas över: demonumret 2018-1 finns inte.")
            return
        for export_format, verbosity in (("csv", 0), ("xlsx", 0), ("pdf", 1)):
            call_command(
                "export_print",
                "2018-1",
                export_format=export_format,
                output=str(settings.VAR_DIR / "print" / f"lansnytt-2018-1-tryck.{export_format}"),
                allow_incomplete=True,
                verbosity=verbosity,
                stdout=self.stdout,
                stderr=self.stderr,
            )
