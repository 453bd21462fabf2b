from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscribersConfig(AppConfig):
    name = "subscribers"
    verbose_name = _("Prenumeranter")

    def ready(self) -> None:
        # Registers the copy change admin and defines the privacy actions that admin.py
        # attaches; autodiscovery only imports admin.py itself.
        from . import admin_privacy  # noqa: F401
        from . import checks  # noqa: F401  (registers the app's system checks)
