"""From a report to the delivery it is about, without guessing, and applying it.

In order of trust:
1. the VERP token (the address the bounce was sent to, an ARF report's original return
   path, or a provider's metadata): signed, so it names the delivery for certain. A token
   with a bad signature is a forgery and the whole report is ignored;
2. the original message's Message-ID (`lansnytt.d<id>@site`): anyone can write one, since
   they count up, so it counts only when the report also names that delivery's address;
3. the single address the report names: the latest delivery that went to it.

A report about one of our Message-IDs but another address is ignored rather than matched by
address: it is what a forged report looks like. What a matched report does to the address
is subscribers.bounce_policy's rule; here we keep the delivery's own record (`bounced_at`,
`complained_at`) and apply each delivery's bounce or complaint once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from subscribers.bounce_policy import COMPLAINT, HARD, SOFT, UNSUBSCRIBE, Feedback, feedback_apply

from ..message import AddressNotSendable, smtp_address
from ..models import Delivery, DeliveryStatus, Dispatch
from ..verp import VerpTokenInvalid, delivery_token_read
from .reports import Report

_DELIVERY_MESSAGE_ID = re.compile(r"^\s*<?lansnytt\.d(\d{1,19})@[^>\s]+>?\s*$", re.IGNORECASE)

APPLIED = "applied"
IGNORED = "ignored"


@dataclass(frozen=True)
class Outcome:
    status: str  # applied, ignored (and "kept" from worker.bounces.intake)
    text: str


def _address_forms(email: str) -> set[str]:
    """The address as stored and as it went out (IDN domains travel in punycode)."""
    forms = {email.lower()}
    try:
        forms.add(smtp_address(email).lower())
    except AddressNotSendable:
        pass
    return forms


def _by_token(report: Report) -> tuple[Delivery | None, str]:
    for token in report.tokens:
        try:
            delivery_id = delivery_token_read(token)
        except VerpTokenInvalid as error:
            return None, f"ignored: forged or damaged VERP token ({error})"
        delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is not None:
            return delivery, "VERP"
        return None, f"ignored: delivery {delivery_id} no longer exists"
    return None, ""


def _by_message_id(report: Report) -> tuple[Delivery | None, str]:
    match = _DELIVERY_MESSAGE_ID.match(report.message_id)
    if match is None:
        return None, ""
    delivery = Delivery.objects.select_for_update().filter(pk=int(match.group(1))).first()
    if delivery is None:
        return None, f"ignored: delivery {match.group(1)} does not exist"
    if not _address_forms(delivery.email) & set(report.recipients):
        return None, (
            f"ignored: the report names {', '.join(report.recipients) or 'no recipient'}, "
            f"delivery {delivery.pk} went to another address"
        )
    return delivery, "Message-ID"


def _by_recipient(report: Report) -> tuple[Delivery | None, str]:
    if len(report.recipients) != 1:
        # Our messages have one recipient each; a report about several is not about one.
        return None, "ignored: no VERP token or Message-ID, and not exactly one recipient"
    delivery = (
        Delivery.objects.select_for_update()
        .filter(email__iexact=report.recipients[0], status=DeliveryStatus.SENT)
        .order_by("-sent_at", "-id")
        .first()
    )
    if delivery is None:
        return None, f"ignored: nothing was sent to {report.recipients[0]}"
    return delivery, "recipient address"


def delivery_match(report: Report) -> tuple[Delivery | None, str]:
    """The delivery the report is about (locked), and how it was found or why not."""
    for step in (_by_token, _by_message_id, _by_recipient):
        delivery, how = step(report)
        if delivery is not None or how:
            return delivery, how
    return None, "ignored: no delivery found"


@transaction.atomic
def report_apply(report: Report, *, source: str, provider: str = "") -> Outcome:
    """Match the report to its delivery and apply it (idempotent)."""
    delivery, how = delivery_match(report)
    if delivery is None:
        return Outcome(IGNORED, how)
    # A delivery whose dispatch the retention rule purged is counted in its kept totals
    # (worker.retention); the dispatch's lock orders this against the purge, so a bounce is
    # either in the totals or ignored, never lost between them.
    purged = (
        Dispatch.objects.select_for_update(no_key=True)
        .values_list("deliveries_purged_at", flat=True)
        .get(pk=delivery.dispatch_id)
    )
    if purged is not None:
        return Outcome(
            IGNORED, f"ignored: the deliveries of dispatch {delivery.dispatch_id} were purged"
        )
    now = timezone.now()
    reason = f"{report.status} {report.diagnostic}".strip()
    if report.kind == HARD:
        if delivery.bounced_at is not None:
            return Outcome(IGNORED, f"already recorded: delivery {delivery.pk} bounced")
        delivery.bounced_at = now
        delivery.last_error = f"Studsade efter leverans: {reason}"[:1000]
        delivery.save(update_fields=["bounced_at", "last_error"])
    elif report.kind == COMPLAINT:
        if delivery.complained_at is not None:
            return Outcome(IGNORED, f"already recorded: complaint about delivery {delivery.pk}")
        delivery.complained_at = now
        delivery.save(update_fields=["complained_at"])
    elif report.kind not in (SOFT, UNSUBSCRIBE):
        return Outcome(IGNORED, f"ignored: {report.kind}")
    result = feedback_apply(
        feedback=Feedback(
            kind=report.kind,
            email=delivery.email,
            source=source,
            subscriber_id=delivery.subscriber_id,
            dispatch_key=delivery.dispatch_id,
            provider=provider,
            status=report.status,
            reason=report.diagnostic,
            reference=f"leverans {delivery.pk} (matchad med {how})",
        )
    )
    text = f"delivery {delivery.pk} ({delivery.email}, by {how}): {result.summary}"
    return Outcome(APPLIED if result.changed else IGNORED, text)
