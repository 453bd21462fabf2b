"""System checks that refuse the embedded defaults in production.

With DEBUG off, a missing SECRET_KEY, REDIS_URL, EMAIL_URL or SITE_URL would silently mean an
insecure key, tasks run inside the web process, email written to local files and links to
localhost in every email. Each is an error
naming the variable instead.
"""

from django.conf import settings
from django.core.checks import Error, register

REQUIRED_IN_PRODUCTION = {
    "SECRET_KEY": (
        "SECRET_KEY_FROM_ENV",
        "Set SECRET_KEY to a long random string.",
    ),
    "REDIS_URL": (
        "REDIS_URL",
        "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0) so that Celery workers do the sending.",
    ),
    "EMAIL_URL": (
        "EMAIL_URL",
        "Set EMAIL_URL (e.g. smtp+tls://user:password@smtp.example.org:587).",
    ),
    "SITE_URL": (
        "SITE_URL_FROM_ENV",
        "Set SITE_URL to the public https address: every link in every email is built from it.",
    ),
}


@register()
def production_environment_check(app_configs, **kwargs):
    if settings.DEBUG:
        return []
    errors = []
    for index, (variable, (setting, hint)) in enumerate(REQUIRED_IN_PRODUCTION.items(), 1):
        if not getattr(settings, setting, ""):
            errors.append(
                Error(
                    f"The environment variable {variable} is not set and DEBUG is off.",
                    hint=hint,
                    id=f"lansnytt.E00{index}",
                )
            )
    return errors
