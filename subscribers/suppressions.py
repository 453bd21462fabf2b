"""Staff changes to the suppression list, each leaving an audit entry.

The automatic entries (unsubscribe, bounce, erasure) are written where those happen and are
recorded there (the consent log, the erasure's own audit entry); these are the hand-made ones.
"""

from django.db import transaction

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
