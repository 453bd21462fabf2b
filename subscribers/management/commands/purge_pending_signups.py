from django.conf import settings
from django.core.management.base import BaseCommand

from subscribers.retention import pending_signups_purge


class Command(BaseCommand):
    help = (
        "Tar bort anmälningar som aldrig bekräftades och är äldre än "
        "PENDING_SIGNUP_RETENTION_DAYS dagar (samma som celery beat gör)."
    )

    def handle(self, *args, **options) -> None:
        result = pending_signups_purge()
        self.stdout.write(
            f"{result.subscribers_deleted} obekräftade anmälningar borttagna, "
            f"{result.signups_redacted} gamla anmälningsförsök rensade "
            f"(äldre än {settings.PENDING_SIGNUP_RETENTION_DAYS} dagar)."
        )
