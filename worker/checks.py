"""System checks of the sending app: production needs a broker and a mail server."""

from django.core.checks import Tags, register

from lansnytt.checks import environment_variable_required


@register(Tags.compatibility)
def sending_environment_check(app_configs, **kwargs):
    return [
        *environment_variable_required(
            variable="REDIS_URL",
            setting="REDIS_URL",
            hint="Set REDIS_URL (e.g. redis://127.0.0.1:6379/0) so that Celery workers do the "
            "sending.",
            check_id="worker.E001",
        ),
        *environment_variable_required(
            variable="EMAIL_URL",
            setting="EMAIL_URL",
            hint="Set EMAIL_URL (e.g. smtp+tls://user:password@smtp.example.org:587).",
            check_id="worker.E002",
        ),
    ]


@register(Tags.compatibility)
def bounce_settings_check(app_configs, **kwargs):
    from django.conf import settings
    from django.core.checks import Error

    from .bounces.mailbox import MailboxAddress, MailboxUnusable

    errors = []
    if settings.BOUNCE_MAILBOX_URL:
        try:
            address = MailboxAddress.parse(settings.BOUNCE_MAILBOX_URL)
        except MailboxUnusable as error:
            errors.append(Error(str(error), id="worker.E003"))
        else:
            # Plain IMAP sends the password in the clear: only to this machine.
            if address.scheme == "imap" and address.host not in ("127.0.0.1", "localhost", "::1"):
                if not settings.DEBUG:
                    errors.append(
                        Error(
                            "BOUNCE_MAILBOX_URL uses imap:// to another machine.",
                            hint="Use imaps:// (IMAP over TLS) for a remote mailbox.",
                            id="worker.E004",
                        )
                    )
    local, at, domain = settings.BOUNCE_ADDRESS.rpartition("@")
    if settings.BOUNCE_ADDRESS and (not at or not local or "+" in local or not domain):
        errors.append(
            Error(
                "BOUNCE_ADDRESS must be a plain address such as bounces@lansnytt.example.org.",
                hint="The delivery token is added after a '+', so the address has none itself.",
                id="worker.E005",
            )
        )
    return errors


RETENTION_SETTINGS = (
    "RETENTION_DELIVERY_DAYS",
    "RETENTION_BOUNCE_MESSAGE_DAYS",
    "RETENTION_ENGAGEMENT_DAYS",
    "RETENTION_BATCH_SIZE",
)


@register(Tags.compatibility)
def retention_settings_check(app_configs, **kwargs):
    # 0 would purge the deliveries of a dispatch the moment it ends (and refuse its resend),
    # a negative number rows from the future: both are mistakes, not a retention rule.
    from django.conf import settings
    from django.core.checks import Error

    return [
        Error(
            f"{name} is {getattr(settings, name)}; it must be a positive number.",
            hint="Unset it for the default (see the README's settings table).",
            id="worker.E006",
        )
        for name in RETENTION_SETTINGS
        if getattr(settings, name) <= 0
    ]
