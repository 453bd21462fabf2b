"""Changes to the suppression list, each leaving one audit entry: by staff in the admin, by
the person (an unsubscribe link; a confirmed new sign-up lifts their own entry) and by the
system (a bounce). An erasure turns an entry into a bare hash, which its own entry records.
"""

from django.db import transaction

from audit.models import AuditAction
from audit.services import PersonViaLink, audit_record

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


@transaction.atomic
def suppression_add(*, suppression: Suppression, actor=None) -> Suppression:
    """Store a new entry made by staff (the admin's form has checked the address)."""
    suppression.source = suppression.source or ConsentSource.ADMIN
    suppression.save()
    audit_record(
        action=AuditAction.SUPPRESSION_ADD,
        actor=actor,
        target=suppression,
        detail={"reason": suppression.reason},
    )
    return suppression


@transaction.atomic
def suppression_remove(*, suppression: Suppression, actor=None) -> None:
    """Lift an entry: the address may be mailed and imported again.

    Recorded twice: in the audit trail (who lifted it) and in the consent log of each
    subscriber with the address (what was lifted and why it had been there). A subscriber
    who was set to bounced is active again, because staff have said the address works; one
    who unsubscribed or complained stays unsubscribed, because only the person can undo that.
    The soft-bounce score starts again from nothing.
    """
    audit_record(
        action=AuditAction.SUPPRESSION_REMOVE,
        actor=actor,
        target=suppression,
        detail={"reason": suppression.reason, "source": suppression.source},
    )
    staff_user = actor if getattr(actor, "is_authenticated", False) else None
    for subscriber in Subscriber.objects.select_for_update().filter(
        email_hash=suppression.email_hash
    ):
        status_before = subscriber.status
        if (
            suppression.reason == SuppressionReason.BOUNCED
            and status_before == SubscriberStatus.BOUNCED
        ):
            subscriber.status = SubscriberStatus.ACTIVE
            subscriber.save(update_fields=["status", "updated_at"])
        consent_event_log(
            subscriber=subscriber,
            action=ConsentAction.SUPPRESSION_LIFT,
            source=ConsentSource.ADMIN,
            origin=RequestOrigin(staff_user=staff_user),
            detail={
                "reason": suppression.reason,
                "source": suppression.source,
                "why": suppression.detail,
                "status_before": status_before,
                "status_after": subscriber.status,
            },
        )
    SoftBounce.objects.filter(email_hash=suppression.email_hash).delete()
    suppression.delete()


def suppression_ensure(*, email: str, email_hash: str, reason: str, actor=None) -> bool:
    """Suppress the address unless it already is; True (and one audit entry) when this call
    added the entry. `actor` None is the system (a bounce)."""
    suppression, created = Suppression.objects.get_or_create(
        email_hash=email_hash, defaults={"email": email, "reason": reason}
    )
    if created:
        audit_record(
            action=AuditAction.SUPPRESSION_ADD,
            actor=actor,
            target=suppression,
            detail={"reason": reason},
        )
    return created


def suppressions_lift(*, email: str, reasons, actor=None) -> list[str]:
    """Remove the address's entries of the given reasons (a confirmed opt-in lifts the
    person's own unsubscribe); one audit entry each. Returns the reasons lifted."""
    lifted = []
    for suppression in Suppression.objects.for_address(email).filter(reason__in=reasons):
        suppression_remove(suppression=suppression, actor=actor)
        lifted.append(suppression.reason)
    return lifted


def person_actor(origin: RequestOrigin):
    """Who the trail names for a change made through a request: the staff user when staff
    made it in the admin, otherwise the person themself through a link mailed to them."""
    return origin.staff_user or PersonViaLink()
