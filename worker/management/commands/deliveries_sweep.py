from django.core.management.base import BaseCommand

from worker.services import deliveries_sweep, dispatches_start_due


class Command(BaseCommand):
    help = (
        "Lägg tillbaka leveranser vars reservation gått ut, avsluta färdiga utskick och "
        "starta schemalagda (samma som celery beat gör)."
    )

    def handle(self, *args, **options) -> None:
        started = dispatches_start_due()
        result = deliveries_sweep()
        self.stdout.write(
            f"{result.requeued} leveranser tillbaka i kön, {result.finished} utskick klara, "
            f"{result.dispatches_nudged} utskick puttade, {len(started)} schemalagda startade."
        )
