"""Writing the audit trail: `audit_record` is the one way in, called from the services."""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass
from pathlib import Path
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


# Commands that serve requests: what happens in them is done by the request's user (or the
# system), not by whoever started the server.
_SERVING_COMMANDS = {"runserver", "testserver"}


def command_of_this_process() -> CommandLine | None:
    """The command line when this process is a management command (`manage.py createsuperuser`,
    `manage.py shell`), so that what it changes without naming an actor (Django's own
    commands, a signal, a service called with no actor) is not put down to "systemet"."""
    if len(sys.argv) < 2 or Path(sys.argv[0]).name not in ("manage.py", "django-admin"):
        return None
    if sys.argv[1] in _SERVING_COMMANDS or sys.argv[1].startswith("-"):
        return None
    return command_line(sys.argv[1])


def _actor_fields(actor: Any) -> dict[str, Any]:
    if actor is None:
        actor = command_of_this_process()
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
    """Append one entry. `actor` is a user, a CommandLine, PersonViaLink, IdentityProvider or
    None: the system, or the command line when this process is a management command."""
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
