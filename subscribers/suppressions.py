"""Staff changes to the suppression list, each leaving an audit entry.

The automatic entries (unsubscribe, bounce, erasure) are written where those happen and are
recorded there (the consent log, the erasure's own audit entry); these are the hand-made ones.
"""

from django.db import transaction

from audit.models import AuditAction
from audit.services import audit_record

from .models import Suppression


@transaction.atomic
def suppression_add(*, suppression: Suppression, actor=None) -> Suppression:
    """Store a new entry made by staff (the admin's form has checked the address)."""
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
    """Remove an entry: the address may be mailed and imported again."""
    audit_record(
        action=AuditAction.SUPPRESSION_REMOVE,
        actor=actor,
        target=suppression,
        detail={"reason": suppression.reason},
    )
    suppression.delete()
