from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Konton")

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers the app's system checks)
            sessions,  # noqa: F401  (records the login time of every session)
        )
        from .roles import role_groups_sync_after_migrate

        # Apps added later bring new permissions; re-syncing after every migrate keeps the
        # role groups complete without a new data migration per app.
        post_migrate.connect(role_groups_sync_after_migrate, dispatch_uid="role_groups_sync")
