"""The account a single sign-on logs in: found by the provider's subject, made on the first
login, and given exactly the roles its group claim maps to, every time."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import SignOnIdentity, User
from audit.context import current_actor
from audit.models import AuditAction
from audit.services import IdentityProvider, audit_record

from .config import role_mapping


class SignOnRefused(Exception):
    """The provider vouched for someone this site does not let in; `reason` says why (it is
    the audit entry's reason and picks the message the person sees)."""

    def __init__(self, reason: str, *, label: str = "", detail: dict | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.label = label
        self.detail = detail or {}


def roles_from_claims(*, claims: dict[str, Any]) -> list[str]:
    """The role groups the person's groups at the provider map to (OIDC_ROLE_MAPPING)."""
    mapping = role_mapping()
    return sorted({mapping[group] for group in _claimed_groups(claims) if group in mapping})


def _claimed_groups(claims: dict[str, Any]) -> Iterable[str]:
    value = claims.get(settings.OIDC_GROUPS_CLAIM)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


def sign_on_account_sync(*, issuer: str, claims: dict[str, Any]) -> User:
    """The active staff account of the person the provider vouched for, with its roles, name
    and address set from the claims; SignOnRefused when they may not log in.

    A person whose groups map to no role loses every role they had and is refused: the
    account stays (its history in the trail names it) but has no staff access."""
    subject = str(claims.get("sub") or "")
    label = _display_name(claims, subject)
    if not subject:
        raise SignOnRefused("no_subject", label=label)
    if _email_unverified(claims):
        raise SignOnRefused("email_unverified", label=label)
    roles = roles_from_claims(claims=claims)
    with transaction.atomic():
        identity = (
            SignOnIdentity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=issuer, subject=subject)
            .first()
        )
        if identity is None and not roles:
            # No account is made for someone who would not be let in.
            raise SignOnRefused("no_role", label=label, detail={"groups": _groups_seen(claims)})
        if identity is not None and not identity.user.is_active:
            raise SignOnRefused("inactive", label=identity.user.get_username())
        # The changes of roles and flags below are recorded by audit.signals, naming the
        # provider as the one who made them.
        token = current_actor.set(IdentityProvider(issuer=issuer))
        try:
            if identity is None:
                user = _account_make(issuer=issuer, subject=subject, claims=claims)
            else:
                user = identity.user
            _account_update(user=user, claims=claims, roles=roles)
        finally:
            current_actor.reset(token)
    if not roles:
        raise SignOnRefused(
            "no_role", label=user.get_username(), detail={"groups": _groups_seen(claims)}
        )
    user.audit_login_detail = {"method": "sso", "issuer": issuer, "roles": roles}
    return user


def sign_on_failure_record(*, reason: str, label: str = "", detail: dict | None = None) -> None:
    audit_record(
        action=AuditAction.LOGIN_FAILED,
        object_type=User._meta.label_lower,
        label=label,
        detail={"method": "sso", "reason": reason, **(detail or {})},
    )


def _account_make(*, issuer: str, subject: str, claims: dict[str, Any]) -> User:
    user = User(username=_free_username(claims, subject))
    # Only the provider logs this account in: it has no password to guess or to lock out.
    user.set_unusable_password()
    user.save()
    SignOnIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    return user


def _account_update(*, user: User, claims: dict[str, Any], roles: list[str]) -> None:
    user.email = str(claims.get("email") or user.email)[:254]
    user.first_name = str(claims.get("given_name") or user.first_name)[:150]
    user.last_name = str(claims.get("family_name") or user.last_name)[:150]
    user.is_staff = bool(roles)
    # Superuser is the break-glass administrator's, a local account: never through the
    # provider, also not for an account someone made a superuser in the admin.
    user.is_superuser = False
    user.save()
    # Every group, not only the role groups: the provider is the source of truth for what
    # this account may do, so nothing handed out locally outlives its next login.
    user.groups.set(Group.objects.filter(name__in=roles))
    if user.user_permissions.exists():
        user.user_permissions.clear()


def _display_name(claims: dict[str, Any], subject: str) -> str:
    name = claims.get("preferred_username") or claims.get("email") or subject
    return str(name).strip()[:150]


def _free_username(claims: dict[str, Any], subject: str) -> str:
    """The provider's username, or, when a local account already has it, the same with a
    suffix from the subject: the local account is never the one that logs in."""
    wanted = _display_name(claims, subject) or "sso"
    if not User.objects.filter(username=wanted).exists():
        return wanted
    suffix = hashlib.sha256(subject.encode()).hexdigest()[:8]
    return f"{wanted[:140]}-sso-{suffix}"


def _email_unverified(claims: dict[str, Any]) -> bool:
    # Only when the provider says so: many leave the claim out for addresses they manage.
    verified = claims.get("email_verified")
    return verified is False or (isinstance(verified, str) and verified.lower() == "false")


def _groups_seen(claims: dict[str, Any]) -> list[str]:
    # Group names of the region's directory, not personal data; capped for a long list.
    return sorted(_claimed_groups(claims))[:20]
