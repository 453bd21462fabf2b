"""Reading the OIDC_* endpoint settings from the provider's discovery document, once, when
single sign-on is set up (manage.py oidc_discover): the running site uses only the values
written into its environment, so a changed or spoofed document never changes it silently."""

from __future__ import annotations

import requests
from django.conf import settings

from .config import ASYMMETRIC_ALGORITHMS

# Discovery document member → setting.
DISCOVERED_SETTINGS = {
    "authorization_endpoint": "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "token_endpoint": "OIDC_OP_TOKEN_ENDPOINT",
    "userinfo_endpoint": "OIDC_OP_USER_ENDPOINT",
    "jwks_uri": "OIDC_OP_JWKS_ENDPOINT",
}


class DiscoveryFailed(Exception):
    pass


def provider_settings_discover(*, issuer: str) -> dict[str, str]:
    """The OIDC_OP_* settings (and a signing algorithm) for the provider `issuer`, from its
    /.well-known/openid-configuration (OpenID Connect Discovery 1.0)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    # An administrator's own command against the provider they name, so not through the
    # outbound guard: the region's IdP is often on an internal address.
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise DiscoveryFailed(f"{url}: {error}") from error
    # Discovery 4.3: the document must name exactly the issuer it was fetched for.
    if document.get("issuer") != issuer:
        raise DiscoveryFailed(
            f"{url} names the issuer {document.get('issuer')!r}, not {issuer!r}; "
            "give the issuer exactly as the provider writes it."
        )
    missing = [member for member in DISCOVERED_SETTINGS if not document.get(member)]
    if missing:
        raise DiscoveryFailed(f"{url} has no {', '.join(missing)}.")
    found = {"OIDC_OP_ISSUER": issuer}
    found.update({name: document[member] for member, name in DISCOVERED_SETTINGS.items()})
    algorithms = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    usable = [algorithm for algorithm in ASYMMETRIC_ALGORITHMS if algorithm in algorithms]
    if not usable:
        raise DiscoveryFailed(f"{url} signs ID tokens only with {', '.join(algorithms)}.")
    found["OIDC_RP_SIGN_ALGO"] = usable[0]
    return found
