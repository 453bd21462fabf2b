"""Who may be sent email: one rule, read two ways.

Planning compiles it to SQL (`mailable_q`, used in one INSERT ... SELECT); a batch re-checks it
when it claims a delivery, on the values it read with FOR UPDATE (`mail_refusal`), because a
person can unsubscribe, bounce or be erased between planning and sending. Both readings are
built from the same constants below, so they cannot drift apart.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from .models import EMAIL_CHANNELS, SubscriberStatus, Suppression

MAILABLE_STATUSES = (SubscriberStatus.ACTIVE,)

# Why a planned delivery is skipped; kept on the delivery row for editors to read.
REFUSED_ERASED = "Prenumeranten finns inte längre"
REFUSED_INACTIVE = "Prenumeranten är inte längre aktiv"
REFUSED_NO_EMAIL = "Prenumeranten får inte längre e-post"
REFUSED_SUPPRESSED = "Adressen är spärrad"


def suppressed(email_hash_field: str = "email_hash") -> Exists:
    """True for a row whose address (by its hash, `email_hash_field`) is suppressed."""
    return Exists(Suppression.objects.filter(email_hash=OuterRef(email_hash_field)))


def mailable_q() -> Q:
    """The rule as a filter on Subscriber."""
    return Q(status__in=MAILABLE_STATUSES, channel__in=EMAIL_CHANNELS) & ~Q(suppressed())


def mail_refusal(*, status: str | None, channel: str | None, suppressed: bool) -> str | None:
    """Why a subscriber with these values may not be mailed, or None when they may.

    `status` None means the subscriber row is gone.
    """
    if status is None or status == SubscriberStatus.ERASED:
        return REFUSED_ERASED
    if status not in MAILABLE_STATUSES:
        return REFUSED_INACTIVE
    if channel not in EMAIL_CHANNELS:
        return REFUSED_NO_EMAIL
    if suppressed:
        return REFUSED_SUPPRESSED
    return None
