"""The mark a single sign-on leaves in the session, for the second-factor rule."""

from django.conf import settings
from django.http import HttpRequest

SIGNED_ON_SESSION_KEY = "accounts_signed_on_with_idp"


def signed_on_with_idp(request: HttpRequest) -> bool:
    """True when this session's login was the provider's and its MFA counts as the second
    factor (OIDC_TRUST_IDP_MFA)."""
    session = getattr(request, "session", None)  # none without SessionMiddleware
    return bool(settings.OIDC_TRUST_IDP_MFA and session and session.get(SIGNED_ON_SESSION_KEY))
