from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscribersConfig(AppConfig):
    name = "subscribers"
    verbose_name = _("Prenumeranter")

    def ready(self) -> None:
        from . import admin_print  # noqa: F401  (registers the print run admin)
