"""Reads for the list hygiene page: what is blocked and why, and who is left without contact.

Only what staff need to act on: an address and why it is blocked, never the person's name or
history; organisations by name with counts of their contacts by status.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from .models import Organisation, SubscriberStatus, Suppression

# The page lists the newest blocked addresses; the counts cover all of them.
SUPPRESSIONS_LISTED = 500


@dataclass(frozen=True)
class SuppressionOverview:
    total: int
    by_reason: dict[str, int]
    newest: list[Suppression]


def suppressions_overview(*, limit: int = SUPPRESSIONS_LISTED) -> SuppressionOverview:
    by_reason = {
        row["reason"]: row["n"]
        for row in Suppression.objects.values("reason").annotate(n=Count("id")).order_by()
    }
    newest = list(
        Suppression.objects.only("email", "email_hash", "reason", "created_at").order_by(
            "-created_at", "-id"
        )[:limit]
    )
    return SuppressionOverview(total=sum(by_reason.values()), by_reason=by_reason, newest=newest)


def organisations_without_active_contact() -> QuerySet[Organisation]:
    """Organisations none of whose contacts is active (or that have none), with counts of
    their contacts by status as `unsubscribed`, `bounced`, `pending` and `contacts`."""
    contact = "subscribers"
    return (
        Organisation.objects.annotate(
            contacts=Count(contact, filter=~Q(subscribers__status=SubscriberStatus.ERASED)),
            active=Count(contact, filter=Q(subscribers__status=SubscriberStatus.ACTIVE)),
            pending=Count(contact, filter=Q(subscribers__status=SubscriberStatus.PENDING)),
            unsubscribed=Count(
                contact, filter=Q(subscribers__status=SubscriberStatus.UNSUBSCRIBED)
            ),
            bounced=Count(contact, filter=Q(subscribers__status=SubscriberStatus.BOUNCED)),
        )
        .filter(active=0)
        .select_related("municipality")
        .order_by("name", "id")
    )
