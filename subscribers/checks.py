"""System checks of the subscriber app: the import limits must be limits."""

from django.conf import settings
from django.core.checks import Error, Tags, register

LIMIT_SETTINGS = (
    "IMPORT_MAX_BYTES",
    "IMPORT_MAX_ROWS",
    "IMPORT_MAX_COLUMNS",
    "IMPORT_MAX_UNPACKED_BYTES",
    "IMPORT_TIME_LIMIT_SECONDS",
)


@register(Tags.compatibility)
def import_limits_check(app_configs, **kwargs):
    errors = [
        Error(
            f"{name} must be a positive number.",
            hint="Unset it for the default, or give the largest value an import may have.",
            id="subscribers.E001",
        )
        for name in LIMIT_SETTINGS
        if getattr(settings, name) <= 0
    ]
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    if settings.IMPORT_TIME_LIMIT_SECONDS + 30 >= visibility:
        # Redis would hand a running import to a second worker before the first is stopped.
        errors.append(
            Error(
                "IMPORT_TIME_LIMIT_SECONDS (plus 30 s) must be below CELERY_VISIBILITY_TIMEOUT.",
                hint="Lower IMPORT_TIME_LIMIT_SECONDS or raise CELERY_VISIBILITY_TIMEOUT.",
                id="subscribers.E002",
            )
        )
    return errors
