"""System checks of the subscribers app: the key of the address hashes kept after erasure, and
a retention of pending sign-ups that outlives their confirmation links."""

from django.conf import settings
from django.core.checks import Error, Tags, register

from lansnytt.checks import environment_variable_required

from .tokens import CONFIRM_MAX_AGE

# Shorter keys can be searched through; 32 characters of a random string are out of reach.
EMAIL_HASH_KEY_MIN_LENGTH = 32


@register(Tags.security)
def email_hash_key_check(app_configs, **kwargs):
    missing = environment_variable_required(
        variable="EMAIL_HASH_KEY",
        setting="EMAIL_HASH_KEY_FROM_ENV",
        hint="Set EMAIL_HASH_KEY to a long random string of its own and never change it.",
        check_id="subscribers.E001",
    )
    if missing or settings.DEBUG:
        return missing
    key = settings.EMAIL_HASH_KEY_FROM_ENV
    if key in (settings.SECRET_KEY, settings.SECRET_KEY_DEVELOPMENT_DEFAULT):
        return [
            Error(
                "EMAIL_HASH_KEY is the same as SECRET_KEY (or its development default).",
                hint=(
                    "Give EMAIL_HASH_KEY its own random value: rotating SECRET_KEY would "
                    "otherwise make every erased address unrecognisable, and one leaked key "
                    "would open both."
                ),
                id="subscribers.E002",
            )
        ]
    if len(key) < EMAIL_HASH_KEY_MIN_LENGTH:
        return [
            Error(
                f"EMAIL_HASH_KEY is shorter than {EMAIL_HASH_KEY_MIN_LENGTH} characters.",
                hint="A short key can be found by trying keys against a copy of the database.",
                id="subscribers.E003",
            )
        ]
    return []


@register(Tags.compatibility)
def pending_signup_retention_check(app_configs, **kwargs):
    # A purge before the confirmation link expires would make a valid link lead nowhere.
    minimum = CONFIRM_MAX_AGE.days
    if settings.PENDING_SIGNUP_RETENTION_DAYS >= minimum:
        return []
    return [
        Error(
            f"PENDING_SIGNUP_RETENTION_DAYS is {settings.PENDING_SIGNUP_RETENTION_DAYS}; "
            f"confirmation links work for {minimum} days.",
            hint=f"Set PENDING_SIGNUP_RETENTION_DAYS to {minimum} or more.",
            id="subscribers.E004",
        )
    ]


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
            id="subscribers.E005",
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
                id="subscribers.E006",
            )
        )
    return errors
