"""System checks of the accounts app: staff sessions and every signed link need a real key, and
staff log in with a second factor in production."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

from lansnytt.checks import environment_variable_required


@register(Tags.security)
def secret_key_check(app_configs, **kwargs):
    return environment_variable_required(
        variable="SECRET_KEY",
        setting="SECRET_KEY_FROM_ENV",
        hint="Set SECRET_KEY to a long random string.",
        check_id="accounts.E001",
    )


@register(Tags.security, deploy=True)
def staff_two_factor_check(app_configs, **kwargs):
    if settings.DEBUG or settings.STAFF_REQUIRE_2FA:
        return []
    return [
        Warning(
            "STAFF_REQUIRE_2FA is off while DEBUG is off: staff log in with a password alone.",
            hint="Leave STAFF_REQUIRE_2FA unset (it defaults to on when DEBUG is off).",
            id="accounts.W001",
        )
    ]
