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
