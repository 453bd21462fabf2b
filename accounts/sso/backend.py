"""The authentication backend of single sign-on: mozilla-django-oidc's, made stricter.

mozilla-django-oidc checks the ID token's signature, expiry and nonce. It does not check the
issuer or the audience, matches accounts by email address and trusts the userinfo answer's
subject; here the token must name our issuer and be meant for our client, userinfo must be
about the same subject, and the account is the one linked to (issuer, subject)."""

from __future__ import annotations

import logging
from typing import NoReturn

import jwt
import requests
from django.conf import settings
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .config import sso_enabled
from .services import SignOnRefused, sign_on_account_sync, sign_on_failure_record

log = logging.getLogger("accounts.sso")

# Set on the request when the backend has refused and recorded why (the view shows it).
REFUSAL_ATTRIBUTE = "sign_on_refusal"


class RegionSignOnBackend(OIDCAuthenticationBackend):
    def authenticate(self, request, **kwargs):
        # Only the callback view's call: it passes the nonce it kept in the session. A
        # password login, or a login form posted with ?code=…&state=… in its query, never
        # reaches the provider.
        if not sso_enabled() or request is None or "nonce" not in kwargs:
            return None
        if request.path != reverse("oidc_authentication_callback"):
            return None
        try:
            user = super().authenticate(request, **kwargs)
        except SignOnRefused as refusal:
            self._refused(request, refusal)
        except (SuspiciousOperation, jwt.InvalidTokenError) as error:
            self._refused(request, SignOnRefused("id_token", detail={"error": str(error)[:200]}))
        except (requests.RequestException, ValueError, KeyError) as error:
            # The provider did not answer, refused the code, or answered something else.
            self._refused(
                request, SignOnRefused("provider", detail={"error": type(error).__name__})
            )
        if user is None:
            # mozilla-django-oidc gave up by itself (no token in the answer).
            self._refused(request, SignOnRefused("id_token"))
        return user

    def _refused(self, request, refusal: SignOnRefused) -> NoReturn:
        log.warning("Single sign-on refused: %s %s", refusal.reason, refusal.label)
        sign_on_failure_record(reason=refusal.reason, label=refusal.label, detail=refusal.detail)
        setattr(request, REFUSAL_ATTRIBUTE, refusal.reason)
        # Stops the password backend after this one; Django then sends user_login_failed,
        # which django-axes counts against the client address like a wrong password.
        raise PermissionDenied(refusal.reason)

    def verify_token(self, token, **kwargs):
        try:
            payload = super().verify_token(token, **kwargs)
        except SuspiciousOperation as error:
            # The signature, the algorithm or the nonce (a code from another login attempt
            # than the one this browser started).
            reason = "nonce" if "nonce" in str(error).lower() else "id_token"
            raise SignOnRefused(reason, detail={"error": str(error)[:200]}) from error
        if payload.get("iss") != settings.OIDC_OP_ISSUER:
            raise SignOnRefused("wrong_issuer", detail={"iss": str(payload.get("iss"))[:200]})
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SignOnRefused("wrong_audience", detail={"aud": str(audience)[:200]})
        # A token for several audiences must say it was issued to us (OpenID Connect Core
        # 3.1.3.7, points 4 and 5).
        authorized_party = payload.get("azp")
        if (len(audiences) > 1 or authorized_party) and authorized_party != self.OIDC_RP_CLIENT_ID:
            raise SignOnRefused("wrong_audience", detail={"azp": str(authorized_party)[:200]})
        if "exp" not in payload or not payload.get("sub"):
            raise SignOnRefused("id_token", detail={"error": "exp or sub missing"})
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        userinfo = self.get_userinfo(access_token, id_token, payload)
        # OpenID Connect Core 5.3.2: the userinfo answer must be about the token's subject.
        if str(userinfo.get("sub")) != str(payload["sub"]):
            raise SignOnRefused("userinfo_subject")
        # The signed token's claims win over userinfo's where both have one.
        claims = {**userinfo, **payload}
        return sign_on_account_sync(issuer=settings.OIDC_OP_ISSUER, claims=claims)
