"""The shape of the checks that refuse the embedded defaults in production.

With DEBUG off, a missing SECRET_KEY, REDIS_URL, EMAIL_URL or SITE_URL would silently mean an
insecure key, tasks run inside the web process, email written to local files and links to
localhost in every email. Each app registers the check for the settings it depends on (in its
apps.py, with the app's own id namespace); this module only builds the error they share.
"""

from django.conf import settings
from django.core.checks import Error


def environment_variable_required(
    *, variable: str, setting: str, hint: str, check_id: str
) -> list[Error]:
    """An error naming `variable` when DEBUG is off and `setting` (as read from it) is empty."""
    if settings.DEBUG or getattr(settings, setting, ""):
        return []
    return [
        Error(
            f"The environment variable {variable} is not set and DEBUG is off.",
            hint=hint,
            id=check_id,
        )
    ]
