"""Providers' tracking webhooks, through django-anymail.

Anymail checks each request (its basic auth, and the provider's signature where the
provider signs) before it sends the `tracking` signal; a refused request never gets here.
Its normalised events are matched to deliveries like any other report: the delivery token
in the event's metadata (signed, as on the VERP address), else our Message-ID together with
the recipient, else the recipient alone.
"""

from __future__ import annotations

import logging
import re

from anymail.signals import AnymailTrackingEvent

from subscribers.bounce_policy import COMPLAINT, HARD, SOFT, UNSUBSCRIBE
from subscribers.models import ConsentSource

from .matching import Outcome, report_apply
from .reports import Report

logger = logging.getLogger(__name__)

# The metadata key (Mailgun user-variables, Postmark Metadata, SendGrid custom args, ...)
# that carries the delivery token when messages go out through a provider.
METADATA_KEY = "lansnytt_delivery"

_KINDS = {
    "bounced": HARD,
    "deferred": SOFT,
    "complained": COMPLAINT,
    "unsubscribed": UNSUBSCRIBE,
}
# "rejected": the provider refused to send. Only these reasons say something about the
# address; "spam" means the provider judged our message, not that the reader complained.
_REJECT_KINDS = {"bounced": HARD, "invalid": HARD, "unsubscribed": UNSUBSCRIBE}


# A 4xx reply or a 4.x.x enhanced status in the provider's copy of the server's answer.
_TEMPORARY_REPLY = re.compile(r"^\s*4\d\d\b|\b4\.\d{1,3}\.\d{1,3}\b")
# Providers' own words for a bounce they call "bounced" but that is temporary.
_TEMPORARY_TYPES = {"SoftBounce", "Transient", "DnsError"}


def _kind(event: AnymailTrackingEvent) -> str | None:
    if event.event_type == "rejected":
        return _REJECT_KINDS.get(event.reject_reason or "")
    kind = _KINDS.get(event.event_type)
    if kind == HARD:
        # Anymail's "bounced" covers some providers' soft bounces (Postmark's SoftBounce):
        # a temporary failure must be scored, not suppress the address at once.
        esp_type = event.esp_event.get("Type") if isinstance(event.esp_event, dict) else None
        if esp_type in _TEMPORARY_TYPES or _TEMPORARY_REPLY.search(event.mta_response or ""):
            return SOFT
    return kind


def tracking_event_apply(*, event: AnymailTrackingEvent, esp_name: str) -> Outcome | None:
    kind = _kind(event)
    if kind is None:
        return None
    metadata = event.metadata or {}
    token = str(metadata.get(METADATA_KEY, "")).strip()
    report = Report(
        kind=kind,
        recipients=(event.recipient.strip().lower(),) if event.recipient else (),
        status="5.0.0" if kind == HARD else "4.0.0" if kind == SOFT else "",
        diagnostic=" ".join(str(event.mta_response or event.description or "").split())[:500],
        message_id=str(event.message_id or ""),
        tokens=(token,) if token else (),
        description=f"{esp_name} {event.event_type}",
    )
    return report_apply(report, source=ConsentSource.WEBHOOK, provider=esp_name.lower())


def tracking_received(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    outcome = tracking_event_apply(event=event, esp_name=esp_name)
    if outcome is not None:
        logger.info("%s webhook %s: %s", esp_name, event.event_type, outcome.text)
