from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "audit"
    verbose_name = _("Granskningslogg")

    def ready(self) -> None:
        # Logins and changes of rights are recorded from Django's own signals, so the admin,
        # the shell and any command that changes a user are covered alike.
        from . import signals  # noqa: F401
