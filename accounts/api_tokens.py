"""Personal API tokens: created by an administrator, shown once, stored hashed, revocable.

A token reads `lnt_<prefix>_<secret>`. The prefix finds the row; the secret (32 random
bytes) is compared by its SHA-256 in constant time. A plain hash is enough for a random
256-bit secret (no dictionary to guess from), and unlike a keyed hash it survives a rotation
of SECRET_KEY.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record

from .models import ApiScope, ApiToken, User

TOKEN_PREFIX = "lnt_"
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiTokenInvalid(Exception):
    """Scopes that do not exist, or a user who may not hold a token."""


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(
    *,
    user: User,
    name: str,
    scopes: Iterable[str],
    actor,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its one-time plain text."""
    wanted = sorted(set(scopes))
    unknown = [scope for scope in wanted if scope not in ApiScope.values]
    if unknown:
        raise ApiTokenInvalid(f"unknown scopes: {', '.join(unknown)}")
    if not (user.is_active and user.is_staff):
        raise ApiTokenInvalid("API tokens are for active staff accounts only")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            secret_hash=_secret_hash(secret),
            scopes=wanted,
            created_by=actor if isinstance(actor, User) else None,
            expires_at=expires_at,
        )
        audit_record(
            action=AuditAction.API_TOKEN_CREATE,
            actor=actor,
            target=token,
            detail={"user": user.pk, "scopes": wanted, "expires_at": str(expires_at or "")},
        )
    return token, f"{TOKEN_PREFIX}{prefix}_{secret}"


def api_token_revoke(*, token: ApiToken, actor) -> bool:
    """Revoke once; a second revoke changes nothing and records nothing."""
    with transaction.atomic():
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        if changed:
            audit_record(action=AuditAction.API_TOKEN_REVOKE, actor=actor, target=token)
    token.refresh_from_db()
    return bool(changed)


def api_token_authenticate(*, presented: str) -> ApiToken | None:
    """The live token `presented` names, or None (malformed, unknown, wrong secret, revoked,
    expired, or its user no longer active staff)."""
    if not presented.startswith(TOKEN_PREFIX) or len(presented) > 200:
        return None
    prefix, _, secret = presented[len(TOKEN_PREFIX) :].partition("_")
    if not prefix or not secret:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    # Compare even when there is no row, so timing does not tell which prefixes exist.
    expected = token.secret_hash if token else _secret_hash("")
    if not hmac.compare_digest(expected, _secret_hash(secret)) or token is None:
        return None
    now = timezone.now()
    if token.revoked_at or (token.expires_at and token.expires_at <= now):
        return None
    if not (token.user.is_active and token.user.is_staff):
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
