"""System checks of the newsletter app: every link in every email is built from SITE_URL, and
the external link check goes out through the outbound guard, whose test-only opening must not
reach production."""

from django.core.checks import Tags, register

from lansnytt.checks import environment_variable_required
from lansnytt.outbound import outbound_settings_check

# The guard is project-level; its first user registers its check (registering is idempotent,
# so a later user such as webhooks may register it too).
register(outbound_settings_check, Tags.security)


@register(Tags.compatibility)
def site_url_check(app_configs, **kwargs):
    return environment_variable_required(
        variable="SITE_URL",
        setting="SITE_URL_FROM_ENV",
        hint="Set SITE_URL to the public https address: every link in every email is built "
        "from it.",
        check_id="newsletter.E001",
    )
