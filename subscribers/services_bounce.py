"""Marking a subscriber as bounced when the mail server says the mailbox does not exist.

Used by the sending pipeline (worker/); kept here because it is a subscriber-domain write.
"""

from django.db import transaction
from django.utils import timezone

from .models import (
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    Subscriber,
    SubscriberStatus,
    SuppressionReason,
)
from .suppressions import suppression_ensure
from .validation import email_hash


@transaction.atomic
def subscriber_mark_bounced(*, subscriber_id: int, email: str, reply: str) -> None:
    """Suppress the address and set the subscriber to bounced (idempotent)."""
    suppression_ensure(email=email, email_hash=email_hash(email), reason=SuppressionReason.BOUNCED)
    updated = Subscriber.objects.filter(pk=subscriber_id, status=SubscriberStatus.ACTIVE).update(
        status=SubscriberStatus.BOUNCED, updated_at=timezone.now()
    )
    if updated:
        ConsentEvent.objects.create(
            subscriber_id=subscriber_id,
            action=ConsentAction.BOUNCE,
            source=ConsentSource.SYSTEM,
            detail={"email": email, "reply": reply[:500]},
        )
