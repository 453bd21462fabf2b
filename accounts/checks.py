"""System checks of the accounts app: staff sessions and every signed link need a real key,
staff log in with a second factor in production, and single sign-on is configured completely
and over https."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

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


@register(Tags.security)
def sign_on_settings_check(app_configs, **kwargs):
    from .sso.config import (
        ASYMMETRIC_ALGORITHMS,
        SYMMETRIC_ALGORITHMS,
        sso_plain_http_endpoints,
        sso_settings_given,
        sso_settings_missing,
    )
    from .sso.config import role_mapping_unknown as unknown_roles

    if not sso_settings_given():
        return []  # single sign-on is off
    errors = []
    missing = sso_settings_missing()
    if missing:
        errors.append(
            Error(
                "Single sign-on is configured only in part: " + ", ".join(missing) + " not set.",
                hint="Set every OIDC_* variable listed in the README (Security → Single "
                "sign-on), or unset them all to turn single sign-on off.",
                id="accounts.E010",
            )
        )
    if unknown_roles():
        errors.append(
            Error(
                "OIDC_ROLE_MAPPING names roles that do not exist: " + ", ".join(unknown_roles()),
                hint="Map each IdP group to editors, distribution or administrators (or a role "
                "group's name).",
                id="accounts.E011",
            )
        )
    if settings.OIDC_RP_SIGN_ALGO not in ASYMMETRIC_ALGORITHMS + SYMMETRIC_ALGORITHMS:
        errors.append(
            Error(
                f"OIDC_RP_SIGN_ALGO {settings.OIDC_RP_SIGN_ALGO!r} is not supported.",
                hint="Use the algorithm the provider signs ID tokens with, usually RS256.",
                id="accounts.E012",
            )
        )
    plain = sso_plain_http_endpoints()
    if plain and not settings.DEBUG:
        errors.append(
            Error(
                "Single sign-on talks to the identity provider without TLS: "
                + ", ".join(plain)
                + " not https.",
                hint="Use the provider's https:// URLs; the client secret and the tokens "
                "travel on these connections.",
                id="accounts.E013",
            )
        )
    return errors
