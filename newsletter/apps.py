from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NewsletterConfig(AppConfig):
    name = "newsletter"
    verbose_name = _("Tidningen")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the app's system checks)
        from .signals import signals_connect

        signals_connect()
