from django.conf import settings
from django.core.management.base import BaseCommand

from audit.services import command_line
from worker.retention import records_purge


class Command(BaseCommand):
    help = (
        "Gallrar leveranser, sparade studsmeddelanden och dagliga klick- och visningsräkningar "
        "som är äldre än RETENTION_*_DAYS; summorna per utskick och nummer sparas (samma som "
        "celery beat gör varje dygn)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Räkna bara vad som skulle gallras."
        )

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        result = records_purge(dry_run=dry_run, actor=command_line("purge_records"))
        if result.skipped:
            self.stdout.write("En annan gallring pågår; inget gjordes.")
            return
        verb = "skulle gallras" if dry_run else "gallrade"
        self.stdout.write(
            f"{result.deliveries} leveranser ({result.dispatches} utskick av "
            f"{result.issues} nummer, äldre än {settings.RETENTION_DELIVERY_DAYS} dagar), "
            f"{result.bounce_messages} sparade studsmeddelanden (äldre än "
            f"{settings.RETENTION_BOUNCE_MESSAGE_DAYS} dagar), {result.engagement_counts} "
            f"dagliga räkningar (äldre än {settings.RETENTION_ENGAGEMENT_DAYS} dagar) {verb}."
        )
