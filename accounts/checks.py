"""System checks of the accounts app: staff sessions and every signed link need a real key."""

from django.core.checks import Tags, register

from lansnytt.checks import environment_variable_required


@register(Tags.security)
def secret_key_check(app_configs, **kwargs):
    return environment_variable_required(
        variable="SECRET_KEY",
        setting="SECRET_KEY_FROM_ENV",
        hint="Set SECRET_KEY to a long random string.",
        check_id="accounts.E001",
    )
