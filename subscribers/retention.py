"""How long a sign-up that was never confirmed is kept: PENDING_SIGNUP_RETENTION_DAYS.

A sign-up stores a name, maybe a postal address, and the IP address and browser it came
from, for anyone who types an address into the form. If the mailbox owner never confirms,
none of it has a purpose after the confirmation link has expired: the purge deletes such
people, and clears the IP address, browser and request of unconfirmed sign-ups of people we
keep for other reasons (an unsubscribed reader who tried to come back). A subscriber who
confirmed, and the sign-up they confirmed, are never touched.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from audit.models import AuditAction
from audit.services import audit_record

from .models import ConsentAction, ConsentEvent, Subscriber, SubscriberStatus

# Rows per transaction: a purge after a long pause or a flood of fake sign-ups stays a series
# of short transactions instead of one that locks thousands of rows.
PURGE_BATCH_SIZE = 500

# Events that mean staff, an import or the person themselves made the row more than a
# sign-up: such a row is not a stale sign-up, whatever its status says.
_KEEPING_ACTIONS = (ConsentAction.CONFIRM, ConsentAction.IMPORT, ConsentAction.ADMIN)


@dataclass(frozen=True)
class PurgeResult:
    subscribers_deleted: int
    signups_redacted: int


def pending_signups_cutoff() -> datetime:
    return timezone.now() - timedelta(days=settings.PENDING_SIGNUP_RETENTION_DAYS)


def pending_signups_stale(*, cutoff: datetime) -> QuerySet[Subscriber]:
    """People who only ever signed up, never confirmed, and did nothing since `cutoff`."""
    events = ConsentEvent.objects.filter(subscriber=OuterRef("pk"))
    return (
        Subscriber.objects.filter(
            status=SubscriberStatus.PENDING, confirmed_at__isnull=True, created_at__lt=cutoff
        )
        .exclude(Exists(events.filter(created_at__gte=cutoff)))
        .exclude(Exists(events.filter(action__in=_KEEPING_ACTIONS)))
    )


def signups_unconfirmed_stale(*, cutoff: datetime) -> QuerySet[ConsentEvent]:
    """Sign-up events older than `cutoff` that no confirmation followed, not yet cleared."""
    confirmed_later = ConsentEvent.objects.filter(
        subscriber=OuterRef("subscriber"), action=ConsentAction.CONFIRM, pk__gt=OuterRef("pk")
    )
    return (
        ConsentEvent.objects.filter(action=ConsentAction.SUBSCRIBE, created_at__lt=cutoff)
        .exclude(Exists(confirmed_later))
        .exclude(detail__has_key="redacted")
    )


def pending_signups_purge(*, batch_size: int = PURGE_BATCH_SIZE) -> PurgeResult:
    """Delete stale pending sign-ups and clear stale unconfirmed sign-up events.

    Idempotent, and safe to run while people sign up: each batch re-checks its rows under
    lock, so a person who confirms or signs up again meanwhile is left alone.
    """
    cutoff = pending_signups_cutoff()
    deleted = redacted = 0
    while batch := _subscribers_delete_batch(cutoff=cutoff, batch_size=batch_size):
        deleted += batch
    while batch := _signups_redact_batch(cutoff=cutoff, batch_size=batch_size):
        redacted += batch
    if deleted or redacted:
        # Personal data removed by the retention rule rather than on request: one entry per
        # run that removed anything, by count (the people are gone; their ids say nothing).
        audit_record(
            action=AuditAction.ERASURE,
            object_type=Subscriber._meta.label_lower,
            label=gettext("ej bekräftade anmälningar"),
            detail={
                "pending_signups_deleted": deleted,
                "signups_redacted": redacted,
                "older_than": cutoff.isoformat(),
            },
        )
    return PurgeResult(subscribers_deleted=deleted, signups_redacted=redacted)


def _subscribers_delete_batch(*, cutoff: datetime, batch_size: int) -> int:
    with transaction.atomic():
        ids = list(
            pending_signups_stale(cutoff=cutoff)
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return 0
        # The consent log is append-only for everything else (ConsentEvent.delete refuses);
        # a sign-up nobody confirmed is no consent to keep evidence of.
        ConsentEvent.objects.filter(subscriber_id__in=ids).delete()
        Subscriber.objects.filter(pk__in=ids).delete()
    return len(ids)


def _signups_redact_batch(*, cutoff: datetime, batch_size: int) -> int:
    with transaction.atomic():
        ids = list(
            signups_unconfirmed_stale(cutoff=cutoff)
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return 0
        ConsentEvent.objects.filter(pk__in=ids).update(
            ip_address=None, user_agent="", detail={"redacted": True}
        )
    return len(ids)
