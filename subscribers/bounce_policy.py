"""What a bounce or a complaint does to an address: the one home of that rule.

Every way a report arrives (the SMTP reply while sending, a DSN or ARF report from the bounce
mailbox or a file, a provider's webhook) ends here with a `Feedback`, so the rule is written
once:

- a hard bounce (5.x.x) marks the subscriber bounced and suppresses the address;
- a soft bounce (4.x.x) scores once per dispatch, as Mailman scores once per mailing; when
  an address has `BOUNCE_SOFT_THRESHOLD` soft bounces in separate dispatches within
  `BOUNCE_SOFT_STALE_DAYS`, it is treated as a hard bounce. Older soft bounces no longer
  count, so an address that was full once a year ago starts from nothing;
- a complaint (the reader pressed "this is spam") unsubscribes and suppresses, as a
  complaint event;
- a provider's "unsubscribed" is an unsubscribe.

Every change is a consent event whose source says where the report came from (mailbox, file,
webhook, SMTP), with the provider's name and the report in its detail, and the suppression
entry says why in words staff can read. Callers apply a report to a delivery once (the
worker keeps `bounced_at` / `complained_at`), and everything here is idempotent anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record

from .consent import RequestOrigin, consent_event_log
from .models import (
    ConsentAction,
    ConsentSource,
    SoftBounce,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
)
from .validation import email_hash

HARD = "hard"
SOFT = "soft"
COMPLAINT = "complaint"
UNSUBSCRIBE = "unsubscribe"
KINDS = (HARD, SOFT, COMPLAINT, UNSUBSCRIBE)


@dataclass(frozen=True)
class Feedback:
    """One report about one address, as the worker matched it."""

    kind: str  # one of KINDS
    email: str  # the address the message went to
    source: str  # a ConsentSource value: smtp, mailbox, bounce_file, webhook
    subscriber_id: int | None = None
    # The dispatch the bounced message belonged to: soft bounces score once per dispatch.
    dispatch_key: int | None = None
    provider: str = ""  # e.g. "mailgun" for a webhook
    status: str = ""  # enhanced status code, e.g. 5.1.1
    reason: str = ""  # the diagnostic or the provider's description
    reference: str = ""  # which delivery, for the record


@dataclass(frozen=True)
class PolicyOutcome:
    changed: bool
    suppressed: bool
    summary: str


def _why(feedback: Feedback, prefix: str) -> str:
    parts = [prefix, f"{feedback.status} {feedback.reason}".strip()]
    via = dict(ConsentSource.choices).get(feedback.source, feedback.source)
    parts.append(f"via {via}" + (f" ({feedback.provider})" if feedback.provider else ""))
    if feedback.reference:
        parts.append(feedback.reference)
    return ", ".join(part for part in parts if part)[:500]


def _detail(feedback: Feedback, **extra) -> dict:
    detail = {
        "email": feedback.email,
        "status": feedback.status,
        "reply": feedback.reason[:500],
        "provider": feedback.provider,
        "reference": feedback.reference,
    }
    detail.update(extra)
    return {key: value for key, value in detail.items() if value not in ("", None)}


def _suppress(*, feedback: Feedback, reason: str, why: str) -> bool:
    """Add the suppression entry unless the address already has one; True when added."""
    if Suppression.objects.for_address(feedback.email).exists():
        return False
    suppression, created = Suppression.objects.get_or_create(
        email_hash=email_hash(feedback.email),
        defaults={
            "email": feedback.email,
            "reason": reason,
            "source": feedback.source,
            "detail": why,
        },
    )
    if created:
        # The system suppressed it (a bounce, a complaint): one entry, naming no address.
        audit_record(
            action=AuditAction.SUPPRESSION_ADD,
            actor=None,
            target=suppression,
            detail={"reason": reason, "source": feedback.source},
        )
    return created


def _subscriber(feedback: Feedback) -> Subscriber | None:
    if feedback.subscriber_id is None:
        return None
    return Subscriber.objects.select_for_update().filter(pk=feedback.subscriber_id).first()


def _hard(feedback: Feedback, *, why: str, **extra) -> PolicyOutcome:
    suppressed = _suppress(feedback=feedback, reason=SuppressionReason.BOUNCED, why=why)
    subscriber = _subscriber(feedback)
    changed = False
    if subscriber is not None and subscriber.status in (
        SubscriberStatus.ACTIVE,
        SubscriberStatus.PENDING,
    ):
        subscriber.status = SubscriberStatus.BOUNCED
        subscriber.save(update_fields=["status", "updated_at"])
        changed = True
    if subscriber is not None and (changed or suppressed):
        consent_event_log(
            subscriber=subscriber,
            action=ConsentAction.BOUNCE,
            source=feedback.source,
            origin=RequestOrigin(),
            detail=_detail(feedback, **extra),
        )
    return PolicyOutcome(
        changed=changed or suppressed, suppressed=suppressed, summary=f"bounced: {why}"
    )


def _soft(feedback: Feedback) -> PolicyOutcome:
    if feedback.dispatch_key is None:
        # A delay notice we cannot place in a dispatch cannot be scored per dispatch.
        return PolicyOutcome(False, False, "ignored: soft bounce outside any dispatch")
    address_hash = email_hash(feedback.email)
    try:
        with transaction.atomic():
            SoftBounce.objects.create(
                email_hash=address_hash,
                dispatch_key=feedback.dispatch_key,
                status=feedback.status[:16],
                source=feedback.source,
            )
    except IntegrityError:
        return PolicyOutcome(False, False, "already scored: soft bounce in this dispatch")
    since = timezone.now() - timedelta(days=settings.BOUNCE_SOFT_STALE_DAYS)
    score = SoftBounce.objects.filter(email_hash=address_hash, created_at__gte=since).count()
    threshold = settings.BOUNCE_SOFT_THRESHOLD
    if score < threshold:
        return PolicyOutcome(True, False, f"soft bounce scored: {score} of {threshold}")
    why = _why(
        feedback,
        f"{score} tillfälliga studsar i olika utskick inom {settings.BOUNCE_SOFT_STALE_DAYS} dagar",
    )
    return _hard(feedback, why=why, soft_bounce_score=score)


def _complaint(feedback: Feedback) -> PolicyOutcome:
    why = _why(feedback, "anmält som skräppost")
    suppressed = _suppress(feedback=feedback, reason=SuppressionReason.COMPLAINT, why=why)
    subscriber = _subscriber(feedback)
    if subscriber is not None:
        status_before = subscriber.status
        if status_before in (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING):
            subscriber.status = SubscriberStatus.UNSUBSCRIBED
            subscriber.unsubscribed_at = timezone.now()
            subscriber.save(update_fields=["status", "unsubscribed_at", "updated_at"])
        # Written for every complaint (the caller applies each delivery's once): the reports
        # count complaints, and a complaint from someone already unsubscribed is worth knowing.
        consent_event_log(
            subscriber=subscriber,
            action=ConsentAction.COMPLAINT,
            source=feedback.source,
            origin=RequestOrigin(),
            detail=_detail(feedback, status_before=status_before),
        )
    return PolicyOutcome(True, suppressed, f"complaint: {why}")


def _unsubscribe(feedback: Feedback) -> PolicyOutcome:
    why = _why(feedback, "avregistrerad hos e-postleverantören")
    suppressed = _suppress(feedback=feedback, reason=SuppressionReason.UNSUBSCRIBED, why=why)
    subscriber = _subscriber(feedback)
    changed = False
    if subscriber is not None and subscriber.status in (
        SubscriberStatus.ACTIVE,
        SubscriberStatus.PENDING,
    ):
        status_before = subscriber.status
        subscriber.status = SubscriberStatus.UNSUBSCRIBED
        subscriber.unsubscribed_at = timezone.now()
        subscriber.save(update_fields=["status", "unsubscribed_at", "updated_at"])
        consent_event_log(
            subscriber=subscriber,
            action=ConsentAction.UNSUBSCRIBE,
            source=feedback.source,
            origin=RequestOrigin(),
            detail=_detail(feedback, status_before=status_before),
        )
        changed = True
    return PolicyOutcome(changed or suppressed, suppressed, f"unsubscribed: {why}")


@transaction.atomic
def feedback_apply(*, feedback: Feedback) -> PolicyOutcome:
    """Apply one bounce, complaint or provider unsubscribe to its address and subscriber."""
    if feedback.kind == HARD:
        return _hard(feedback, why=_why(feedback, "permanent studs"))
    if feedback.kind == SOFT:
        return _soft(feedback)
    if feedback.kind == COMPLAINT:
        return _complaint(feedback)
    if feedback.kind == UNSUBSCRIBE:
        return _unsubscribe(feedback)
    raise ValueError(f"unknown feedback kind: {feedback.kind}")


def soft_bounce_score(*, email: str) -> int:
    """The address's soft bounces that still count (for staff pages and tests)."""
    since = timezone.now() - timedelta(days=settings.BOUNCE_SOFT_STALE_DAYS)
    return SoftBounce.objects.filter(email_hash=email_hash(email), created_at__gte=since).count()
