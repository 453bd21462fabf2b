"""System checks of the subscribers app."""

from django.conf import settings
from django.core.checks import Error, Tags, register

from .tokens import CONFIRM_MAX_AGE


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
            id="subscribers.E001",
        )
    ]
