from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NewsletterConfig(AppConfig):
    name = "newsletter"
    verbose_name = _("Tidningen")

    def ready(self) -> None:
        # The welcome email links the latest issue without subscribers importing newsletter.
        from subscribers.welcome import latest_issue_register

        from . import checks  # noqa: F401  (registers the app's system checks)
        from .selectors import latest_issue_for_welcome

        latest_issue_register(latest_issue_for_welcome)
        from .signals import signals_connect

        signals_connect()
