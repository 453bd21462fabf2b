"""Writing the audit trail: `audit_record` is the one way in, called from the services."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from typing import Any

from django.db import models

from .models import ActorKind, AuditEntry


@dataclass(frozen=True)
class CommandLine:
    """The actor of a management command: the command line and the operating-system user."""

    command: str
    os_user: str


@dataclass(frozen=True)
class PersonViaLink:
    """The person themself, acting through a one-time link mailed to their address."""


@dataclass(frozen=True)
class IdentityProvider:
    """The region's identity provider, whose group claim set a staff member's roles at their
    single sign-on (accounts.sso)."""

    issuer: str


def command_line(command: str) -> CommandLine:
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in a container with a bare uid
        os_user = f"uid {os.getuid()}"
    return CommandLine(command=command, os_user=os_user)


def _actor_fields(actor: Any) -> dict[str, Any]:
    if isinstance(actor, CommandLine):
        return {
            "actor_kind": ActorKind.COMMAND,
            "actor_label": f"manage.py {actor.command} (OS-användare {actor.os_user})",
        }
    if isinstance(actor, IdentityProvider):
        return {
            "actor_kind": ActorKind.SYSTEM,
            "actor_label": f"regionens inloggning ({actor.issuer})"[:200],
        }
    if isinstance(actor, PersonViaLink):
        return {"actor_kind": ActorKind.PERSON, "actor_label": "engångslänk"}
    if actor is not None and getattr(actor, "is_authenticated", False):
        return {
            "actor_kind": ActorKind.USER,
            "actor_id": actor.pk,
            "actor_label": actor.get_username(),
        }
    return {"actor_kind": ActorKind.SYSTEM, "actor_label": "systemet"}


def object_label(target: models.Model) -> str:
    """A model names itself in the trail with `audit_label` when its str() is personal data
    (a subscriber's or a suppression's address)."""
    label = getattr(target, "audit_label", None)
    return str(label if label is not None else target)[:300]


def audit_record(
    *,
    action: str,
    actor: Any = None,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    label: str = "",
    detail: dict | None = None,
) -> AuditEntry:
    """Append one entry. `actor` is a user, a CommandLine, PersonViaLink,
    IdentityProvider or None (the system)."""
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = object_id or target.pk
        label = label or object_label(target)
    return AuditEntry.objects.create(
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_label=label[:300],
        detail=detail or {},
        **_actor_fields(actor),
    )
