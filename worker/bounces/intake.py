"""One returned message, from the mailbox or a file: read it, apply it or keep it.

The mailbox poller and `process_bounces` both call `bounce_message_process`, so a DSN, an
ARF report or anything else is treated the same whichever way it arrived, in any mix.
"""

from __future__ import annotations

import hashlib
from email import message_from_bytes, policy

from django.conf import settings

from ..models import KeptBounceMessage, KeptMessageReason
from .matching import Outcome, report_apply
from .reports import NotABounce, UnreadableReport, report_parse

KEPT = "kept"


def _header(raw: bytes, name: str) -> str:
    try:
        head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0][:16384]
        # policy.default decodes RFC 2047 words, so staff read "Re: Länsnytt", not =?utf-8?…
        value = message_from_bytes(head, policy=policy.default).get(name, "")
        return " ".join(str(value).split())[:255]
    except Exception:  # a header we cannot even read is left out, the message is still kept
        return ""


def message_keep(*, raw: bytes, size: int, source: str, origin: str, reason: str, detail: str):
    """Store (the start of) a message for staff; once per message."""
    limit = settings.BOUNCE_KEPT_MAX_BYTES
    kept, _ = KeptBounceMessage.objects.get_or_create(
        sha256=hashlib.sha256(raw).hexdigest(),
        defaults={
            "source": source,
            "origin": origin[:255],
            "reason": reason,
            "detail": detail[:500],
            "sender": _header(raw, "from"),
            "subject": _header(raw, "subject"),
            "size": size,
            "truncated": len(raw) > limit or size > len(raw),
            "raw": raw[:limit],
        },
    )
    return kept


def bounce_message_process(
    *, raw: bytes, source: str, origin: str = "", size: int | None = None
) -> Outcome:
    """Apply a DSN or ARF report, or keep the message; never raises for its content.

    `size` is the whole message's size when only its start was read (the mailbox fetches no
    more than that of a message over BOUNCE_MESSAGE_MAX_BYTES).
    """
    size = len(raw) if size is None else size
    if size > settings.BOUNCE_MESSAGE_MAX_BYTES:
        message_keep(
            raw=raw,
            size=size,
            source=source,
            origin=origin,
            reason=KeptMessageReason.TOO_LARGE,
            detail=f"{size} bytes, over BOUNCE_MESSAGE_MAX_BYTES",
        )
        return Outcome(KEPT, f"kept: too large ({size} bytes)")
    try:
        report = report_parse(raw)
    except (NotABounce, UnreadableReport) as error:
        reason = (
            KeptMessageReason.NOT_A_REPORT
            if isinstance(error, NotABounce)
            else KeptMessageReason.UNREADABLE
        )
        message_keep(
            raw=raw, size=size, source=source, origin=origin, reason=reason, detail=str(error)
        )
        return Outcome(KEPT, f"kept: {error}")
    return report_apply(report, source=source)
