"""The consent log: one append-only entry for every change of a person's data.

Self-service, imports, bounces, erasure and staff edits all write their entry here, so what
a person agreed to, and who changed what, can always be shown afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .models import ConsentAction, ConsentEvent, ConsentSource, Subscriber


@dataclass(frozen=True)
class RequestOrigin:
    """Where a change came from, as the consent log records it."""

    ip_address: str | None = None
    user_agent: str = ""
    staff_user: Any = None


def consent_event_log(
    *,
    subscriber: Subscriber,
    action: str,
    source: str,
    origin: RequestOrigin,
    detail: dict[str, Any] | None = None,
    privacy_text_version: str = "",
) -> ConsentEvent:
    return ConsentEvent.objects.create(
        subscriber=subscriber,
        action=action,
        source=source,
        ip_address=origin.ip_address,
        user_agent=(origin.user_agent or "")[:500],
        staff_user=origin.staff_user,
        privacy_text_version=privacy_text_version,
        detail=detail or {},
    )


def subscriber_staff_edit_log(
    *,
    subscriber: Subscriber,
    staff_user: Any,
    created: bool,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> ConsentEvent | None:
    """The entry for a staff edit in the admin: which fields changed, from what, to what.

    `before` and `after` hold the changed fields only; an edit that changed nothing (and is
    not a creation) leaves no entry.
    """
    changed = sorted(after)
    if not created and not changed:
        return None
    return consent_event_log(
        subscriber=subscriber,
        action=ConsentAction.ADMIN,
        source=ConsentSource.ADMIN,
        origin=RequestOrigin(staff_user=staff_user),
        detail={
            "changed": changed,
            "created": created,
            "before": {name: str(before.get(name)) for name in changed},
            "after": {name: str(after.get(name)) for name in changed},
        },
    )
