"""Bounces that arrive later, as delivery status notifications (RFC 3464).

A mail server that accepted a message can still fail to deliver it and send a DSN back to
the envelope sender. Each of our messages carries a Message-ID naming its delivery
(`lansnytt.d<delivery id>@<site>`, see worker.message), and DSNs quote the original headers,
so a DSN leads straight back to the delivery and its subscriber: no VERP address and no
guessing from the recipient address is needed.

A permanent failure (Action: failed, Status 5.x.x) marks the delivery bounced and the
subscriber bounced, and suppresses the address. A delay (4.x.x) changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message

from django.db import transaction
from django.utils import timezone

from subscribers.services_bounce import subscriber_mark_bounced

from .message import AddressNotSendable, smtp_address
from .models import Delivery

_DELIVERY_MESSAGE_ID = re.compile(r"<?lansnytt\.d(\d+)@[^>\s]+>?", re.IGNORECASE)


@dataclass(frozen=True)
class BounceReport:
    delivery_id: int | None
    recipient: str
    action: str  # failed, delayed, delivered, relayed, expanded
    status: str  # e.g. 5.1.1
    diagnostic: str

    @property
    def permanent(self) -> bool:
        return self.action == "failed" and self.status.startswith("5")


class NotABounce(ValueError):
    """The message is not a delivery status notification we can read."""


def _field_blocks(text: str) -> list[dict[str, str]]:
    """The blank-line separated header blocks of a message/delivery-status body."""
    blocks: list[dict[str, str]] = []
    for chunk in re.split(r"\r?\n\s*\r?\n", text.strip()):
        fields: dict[str, str] = {}
        name = None
        for line in chunk.splitlines():
            if line[:1] in (" ", "\t") and name:
                fields[name] += " " + line.strip()
                continue
            name, _, value = line.partition(":")
            name = name.strip().lower()
            fields[name] = value.strip()
        if fields:
            blocks.append(fields)
    return blocks


def _payload_text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):
        # The email package parses message/delivery-status into a list of header blocks.
        return "\n\n".join(block.as_string() for block in payload)
    raw = part.get_payload(decode=True) or b""
    return raw.decode("utf-8", "replace")


def _original_delivery_id(dsn: Message) -> int | None:
    for part in dsn.walk():
        content_type = part.get_content_type()
        if content_type not in ("text/rfc822-headers", "message/rfc822"):
            continue
        text = part.as_string() if content_type == "message/rfc822" else _payload_text(part)
        header = re.search(r"(?im)^message-id:\s*(.+)$", text)
        match = _DELIVERY_MESSAGE_ID.search(header.group(1)) if header else None
        if match:
            return int(match.group(1))
    return None


def bounce_parse(raw: bytes) -> BounceReport:
    """Read a DSN; raises NotABounce for anything else."""
    dsn = message_from_bytes(raw, policy=policy.compat32)
    status_part = next(
        (part for part in dsn.walk() if part.get_content_type() == "message/delivery-status"),
        None,
    )
    if dsn.get_content_type() != "multipart/report" or status_part is None:
        raise NotABounce("not a multipart/report with a message/delivery-status part")
    blocks = _field_blocks(_payload_text(status_part))
    recipients = [block for block in blocks if "action" in block]
    if not recipients:
        raise NotABounce("the delivery status names no recipient")
    # One message, one recipient: ours are never sent to more than one address.
    fields = recipients[0]
    recipient = fields.get("final-recipient") or fields.get("original-recipient", "")
    return BounceReport(
        delivery_id=_original_delivery_id(dsn),
        recipient=recipient.partition(";")[2].strip() or recipient,
        action=fields.get("action", "").lower(),
        status=fields.get("status", "").split()[0] if fields.get("status") else "",
        diagnostic=fields.get("diagnostic-code", ""),
    )


def _address_forms(email: str) -> set[str]:
    """The address as stored and as it went out (IDN domains travel in punycode)."""
    forms = {email.lower()}
    try:
        forms.add(smtp_address(email).lower())
    except AddressNotSendable:
        pass
    return forms


@transaction.atomic
def bounce_record(report: BounceReport) -> str:
    """Apply a parsed DSN; returns what was done, for the operator's report."""
    if not report.permanent:
        return f"ignored: {report.action} {report.status} (not a permanent failure)"
    if report.delivery_id is None:
        return "ignored: the original message is not one of ours (no lansnytt Message-ID)"
    delivery = Delivery.objects.select_for_update().filter(pk=report.delivery_id).first()
    if delivery is None:
        return f"ignored: delivery {report.delivery_id} does not exist"
    if delivery.bounced_at is not None:
        return f"already recorded: delivery {delivery.pk}"
    # Message-IDs name deliveries in sequence, so anyone could forge a DSN for one; it only
    # counts when it also names the address that delivery went to.
    if report.recipient.lower() not in _address_forms(delivery.email):
        return (
            f"ignored: the report names {report.recipient or 'no recipient'}, "
            f"delivery {delivery.pk} went to another address"
        )
    reason = f"{report.status} {report.diagnostic}".strip()
    delivery.bounced_at = timezone.now()
    delivery.last_error = f"Studsade efter leverans: {reason}"[:1000]
    delivery.save(update_fields=["bounced_at", "last_error"])
    if delivery.subscriber_id:
        subscriber_mark_bounced(
            subscriber_id=delivery.subscriber_id, email=delivery.email, reply=reason
        )
    return f"bounced: delivery {delivery.pk} ({delivery.email}), {reason}"
