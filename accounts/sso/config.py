"""Whether single sign-on is on, and what its settings mean."""

from urllib.parse import urlsplit

from django.conf import settings

from accounts.roles import ADMINISTRATORS, DISTRIBUTION_STAFF, EDITORS, ROLE_PERMISSIONS

# The values OIDC_ROLE_MAPPING may give a group, besides the role groups' own names: env
# files and secret stores are not always happy with "ö".
ROLE_ALIASES = {
    "editors": EDITORS,
    "distribution": DISTRIBUTION_STAFF,
    "administrators": ADMINISTRATORS,
}

# Every one of these is needed once single sign-on is on.
REQUIRED_SETTINGS = (
    "OIDC_RP_CLIENT_ID",
    "OIDC_RP_CLIENT_SECRET",
    "OIDC_OP_ISSUER",
    "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT",
    "OIDC_ROLE_MAPPING",
)
ENDPOINT_SETTINGS = (
    "OIDC_OP_ISSUER",
    "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT",
)
# Asymmetric algorithms check the signature against the provider's published keys (JWKS);
# HS* use the client secret as the key. "none" is never accepted.
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
SYMMETRIC_ALGORITHMS = ("HS256", "HS384", "HS512")


def sso_enabled() -> bool:
    return bool(settings.OIDC_RP_CLIENT_ID)


def sso_settings_given() -> list[str]:
    """The SSO settings that are set at all (any of them means someone meant to turn it on)."""
    return [name for name in REQUIRED_SETTINGS + ("OIDC_OP_JWKS_ENDPOINT",) if _setting(name)]


def sso_settings_missing() -> list[str]:
    missing = [name for name in REQUIRED_SETTINGS if not _setting(name)]
    if settings.OIDC_RP_SIGN_ALGO in ASYMMETRIC_ALGORITHMS and not _setting(
        "OIDC_OP_JWKS_ENDPOINT"
    ):
        missing.append("OIDC_OP_JWKS_ENDPOINT")
    return missing


def sso_plain_http_endpoints() -> list[str]:
    return [
        name
        for name in ENDPOINT_SETTINGS
        if _setting(name) and urlsplit(_setting(name)).scheme.lower() != "https"
    ]


def role_mapping() -> dict[str, str]:
    """IdP group → role group name, for the mapping's values that name a role."""
    resolved = {}
    for idp_group, role in settings.OIDC_ROLE_MAPPING.items():
        name = _role_name(role)
        if name is not None:
            resolved[str(idp_group).strip()] = name
    return resolved


def role_mapping_unknown() -> list[str]:
    return sorted(
        str(role) for role in settings.OIDC_ROLE_MAPPING.values() if _role_name(role) is None
    )


def _role_name(value) -> str | None:
    wanted = str(value).strip()
    for name in ROLE_PERMISSIONS:
        if wanted.casefold() == name.casefold():
            return name
    return ROLE_ALIASES.get(wanted.casefold())


def _setting(name: str):
    return getattr(settings, name, "")
