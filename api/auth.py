"""Who is calling the staff API, and what they may do.

A request carries `Authorization: Bearer lnt_…`. The token must be live (accounts.api_tokens)
and hold the scope the endpoint asks for, and the token's user must still hold the Django
permission behind that scope: a token never does more than its user could do in the admin,
and taking a right away from a person takes it away from their tokens at once.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer
from ninja.throttling import AnonRateThrottle, AuthRateThrottle

from accounts.api_tokens import api_token_authenticate
from accounts.client_address import client_ip
from accounts.models import ApiScope, ApiToken

# The user's own permissions each scope needs as well.
SCOPE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    # A list of subscribers is personal data leaving the system: the export right, as for
    # the admin's CSV export (accounts/roles.py).
    ApiScope.SUBSCRIBERS_READ: ("subscribers.view_subscriber", "subscribers.export_personal_data"),
    ApiScope.SUBSCRIBERS_WRITE: ("subscribers.add_subscriber", "subscribers.change_subscriber"),
    ApiScope.DISPATCHES_READ: ("worker.view_dispatch",),
}


class TokenAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return api_token_authenticate(presented=token)


def scope_require(request: HttpRequest, scope: ApiScope) -> ApiToken:
    """The request's token, or 403 when it lacks the scope or its user the permission."""
    token: ApiToken = request.auth
    if scope not in token.scopes:
        raise HttpError(403, f"Nyckeln saknar behörigheten {scope}.")
    if not all(token.user.has_perm(permission) for permission in SCOPE_PERMISSIONS[scope]):
        raise HttpError(403, f"Nyckelns användare saknar rättigheten som {scope} kräver.")
    return token


class _ClientAddress:
    # The address the rest of the site trusts (behind a proxy, the header it sets).
    def get_ident(self, request: HttpRequest) -> str | None:
        return client_ip(request)


class _RateFromSettings:
    # The routers are built once, at import; the rate is read per request so that a changed
    # setting (and a test's) takes effect without rebuilding them.
    setting: str

    def __init__(self) -> None:
        super().__init__(getattr(settings, self.setting))

    def allow_request(self, request: HttpRequest) -> bool:
        self.rate = getattr(settings, self.setting)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)


class TokenRateThrottle(_ClientAddress, _RateFromSettings, AuthRateThrottle):
    setting = "API_TOKEN_RATE"


class AnonymousRateThrottle(_ClientAddress, _RateFromSettings, AnonRateThrottle):
    setting = "API_ANONYMOUS_RATE"
