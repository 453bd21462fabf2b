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
