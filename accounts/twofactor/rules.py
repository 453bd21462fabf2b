"""The one rule of whether a request has passed the second step of the login."""

from django.conf import settings
from django.http import HttpRequest

from accounts.sso.session import signed_on_with_idp


def second_factor_done(request: HttpRequest) -> bool:
    """True when the user need not or has already given a code in this session.

    django-otp's OTPMiddleware sets is_verified(); it is true only for a session in which a
    device accepted a code, so Client.force_login or a session from before 2FA is not.
    A single sign-on counts as the provider's own MFA unless OIDC_TRUST_IDP_MFA is off."""
    if not settings.STAFF_REQUIRE_2FA or not request.user.is_authenticated:
        return True
    return request.user.is_verified() or signed_on_with_idp(request)
