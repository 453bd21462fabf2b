from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscribersConfig(AppConfig):
    name = "subscribers"
    verbose_name = _("Prenumeranter")

    def ready(self) -> None:
        # admin_privacy registers the copy change admin and defines the privacy actions that
        # admin.py attaches (autodiscovery only imports admin.py itself); checks registers
        # the app's system checks.
        from . import admin_privacy, checks  # noqa: F401
