import sys

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _

_QUIET_COMMANDS = {"check", "makemigrations", "makemessages", "compilemessages", "shell"}


class WorkerConfig(AppConfig):
    name = "worker"
    verbose_name = _("Utskick")

    def ready(self) -> None:
        from subscribers.signals import subscriber_erased

        from . import checks  # noqa: F401  (registers the app's system checks)
        from .services import deliveries_anonymise, kept_bounce_messages_forget

        subscriber_erased.connect(deliveries_anonymise, dispatch_uid="deliveries_anonymise")
        subscriber_erased.connect(
            kept_bounce_messages_forget, dispatch_uid="kept_bounce_messages_forget"
        )
        # Providers' bounce and complaint webhooks (django-anymail checks them first).
        from anymail.signals import tracking

        from .bounces.webhooks import tracking_received

        tracking.connect(tracking_received, dispatch_uid="lansnytt_tracking_received")
        # newsletter's preview page sends tests through this app without importing it.
        from newsletter.testsend import test_sender_register

        from .testsend import dispatch_test_send

        test_sender_register(dispatch_test_send)
        # Say once, per command, that the embedded default is in use: with no broker the
        # sending happens inside this process instead of on Celery workers.
        argv = sys.argv
        is_manage = bool(argv) and argv[0].endswith("manage.py")
        if (
            is_manage
            and not settings.REDIS_URL
            and len(argv) > 1
            and argv[1] not in _QUIET_COMMANDS
        ):
            sys.stderr.write(
                "REDIS_URL är inte satt: uppgifter körs i den här processen "
                "(REDIS_URL is not set: tasks run in-process).\n"
            )
