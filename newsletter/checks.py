"""System checks of the newsletter app: every link in every email is built from SITE_URL."""

from django.core.checks import Tags, register

from lansnytt.checks import environment_variable_required


@register(Tags.compatibility)
def site_url_check(app_configs, **kwargs):
    return environment_variable_required(
        variable="SITE_URL",
        setting="SITE_URL_FROM_ENV",
        hint="Set SITE_URL to the public https address: every link in every email is built "
        "from it.",
        check_id="newsletter.E001",
    )
