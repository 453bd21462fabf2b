"""Retention (gallring): delivery rows, kept bounce messages and daily engagement counts are
purged once older than their RETENTION_*_DAYS, keeping every number the reports show.

- **Deliveries** go an issue at a time, once every dispatch of the issue is final and
  finished before the cutoff. One short transaction per issue writes what the rows came to
  (a DispatchTotals row per dispatch, the issue's IssueReachTotals, from the same counting
  code the reports use) and marks the dispatches purged; from then on the reports and the
  progress read the totals, and the rows are deleted in batches afterwards (a run that dies
  in between leaves marked rows that the next run deletes). After the purge nobody can tell
  who already got the issue, so a new dispatch or a resend of it is refused
  (worker.services), and a bounce naming one of its deliveries is ignored
  (worker.bounces.matching).
- **Kept bounce messages** are deleted in batches.
- **Engagement counts** are folded into per-article totals (newsletter.engagement).

Suppressions, the consent log and the audit trail are never purged here: they are the
records of what people asked for and what staff did. Each run that is not a dry run leaves
one audit entry with its counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext

from audit.models import AuditAction
from audit.services import audit_record
from newsletter.engagement import engagement_counts_fold, engagement_counts_stale
from newsletter.models import Issue
from subscribers.selectors import segments_with_rules

from .locks import single_run_lock
from .models import (
    DISPATCH_FINAL_STATUSES,
    Delivery,
    DeliveryStatus,
    Dispatch,
    DispatchTotals,
    IssueReachTotals,
    KeptBounceMessage,
)
from .reports import dispatch_totals_count, issue_email_reach_count

_LOCK_NAME = "lansnytt:records-purge"
# Long enough for a purge after a long pause; a dead holder's lock lapses by then.
_LOCK_SECONDS = 6 * 3600


@dataclass(frozen=True)
class RetentionCutoffs:
    deliveries: datetime
    bounce_messages: datetime
    engagement_before: date  # days before it are folded

    @classmethod
    def now(cls, *, now: datetime | None = None) -> RetentionCutoffs:
        now = now or timezone.now()
        return cls(
            deliveries=now - timedelta(days=settings.RETENTION_DELIVERY_DAYS),
            bounce_messages=now - timedelta(days=settings.RETENTION_BOUNCE_MESSAGE_DAYS),
            engagement_before=timezone.localdate(now)
            - timedelta(days=settings.RETENTION_ENGAGEMENT_DAYS),
        )


@dataclass(frozen=True)
class RetentionResult:
    issues: int  # issues whose deliveries were purged in this run (their totals kept)
    dispatches: int
    deliveries: int
    bounce_messages: int
    engagement_counts: int
    dry_run: bool = False
    # Another run held the lock; this one did nothing.
    skipped: bool = False

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k not in ("dry_run", "skipped")}


def _issues_due(*, cutoff: datetime):
    """Issues with deliveries to purge: every dispatch final and finished before `cutoff`,
    and not purged yet."""
    unfinished = Dispatch.objects.filter(issue=OuterRef("pk")).filter(
        ~Q(status__in=DISPATCH_FINAL_STATUSES)
        | Q(finished_at__isnull=True)
        | Q(finished_at__gte=cutoff)
    )
    unpurged = Dispatch.objects.filter(issue=OuterRef("pk"), deliveries_purged_at__isnull=True)
    return (
        Issue.objects.filter(Exists(unpurged))
        .exclude(Exists(unfinished))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _purged_deliveries():
    return Delivery.objects.filter(dispatch__deliveries_purged_at__isnull=False)


@transaction.atomic
def issue_deliveries_seal(*, issue_id: int, cutoff: datetime) -> int:
    """Keep the totals of the issue's dispatches and mark them purged; returns how many.

    Nothing is waited for: when an editor, a starting dispatch or a bounce holds the issue
    or one of its dispatches, the issue is left for the next run. Under those locks the
    conditions are checked again, so two purges at once seal an issue once.
    """
    issue = Issue.objects.select_for_update(no_key=True, skip_locked=True).filter(pk=issue_id)
    issue = issue.first()
    if issue is None:
        return 0
    dispatches = list(
        Dispatch.objects.select_for_update(no_key=True, skip_locked=True)
        .filter(issue_id=issue_id)
        .order_by("pk")
    )
    if len(dispatches) != Dispatch.objects.filter(issue_id=issue_id).count():
        return 0
    if not dispatches or any(
        dispatch.deliveries_purged_at is not None
        or dispatch.status not in DISPATCH_FINAL_STATUSES
        or dispatch.finished_at is None
        or dispatch.finished_at >= cutoff
        for dispatch in dispatches
    ):
        return 0
    in_flight = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)
    if Delivery.objects.filter(issue_id=issue_id, status__in=in_flight).exists():
        # A cancelled dispatch's last rows are still with a worker.
        return 0
    segments = list(segments_with_rules())
    for dispatch in dispatches:
        DispatchTotals.objects.create(
            dispatch=dispatch, **dispatch_totals_count(dispatch=dispatch, segments=segments)
        )
    reach = issue_email_reach_count(issue=issue)
    IssueReachTotals.objects.create(
        issue=issue, people=reach.people, organisation_ids=sorted(reach.organisation_ids)
    )
    Dispatch.objects.filter(issue_id=issue_id).update(deliveries_purged_at=timezone.now())
    return len(dispatches)


def _deliveries_delete_batch(*, batch_size: int) -> int:
    with transaction.atomic():
        ids = list(
            _purged_deliveries()
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return 0
        Delivery.objects.filter(pk__in=ids).delete()
    return len(ids)


def _bounce_messages_delete_batch(*, cutoff: datetime, batch_size: int) -> int:
    with transaction.atomic():
        ids = list(
            KeptBounceMessage.objects.filter(received_at__lt=cutoff)
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return 0
        KeptBounceMessage.objects.filter(pk__in=ids).delete()
    return len(ids)


def _dry_run(cutoffs: RetentionCutoffs) -> RetentionResult:
    issue_ids = list(_issues_due(cutoff=cutoffs.deliveries))
    due = Delivery.objects.filter(issue_id__in=issue_ids)
    return RetentionResult(
        issues=len(issue_ids),
        dispatches=Dispatch.objects.filter(issue_id__in=issue_ids).count(),
        deliveries=due.count() + _purged_deliveries().count(),
        bounce_messages=KeptBounceMessage.objects.filter(
            received_at__lt=cutoffs.bounce_messages
        ).count(),
        engagement_counts=engagement_counts_stale(before=cutoffs.engagement_before).count(),
        dry_run=True,
    )


def _while_batches(step) -> int:
    total = 0
    while done := step():
        total += done
    return total


def records_purge(
    *,
    dry_run: bool = False,
    batch_size: int | None = None,
    now: datetime | None = None,
    actor=None,
) -> RetentionResult:
    """Purge what is older than its retention period (module doc); `dry_run` only counts.

    Idempotent: a second run finds nothing to do, and a run that died is finished by the next.
    """
    cutoffs = RetentionCutoffs.now(now=now)
    if dry_run:
        return _dry_run(cutoffs)
    batch_size = batch_size or settings.RETENTION_BATCH_SIZE
    with single_run_lock(_LOCK_NAME, timeout=_LOCK_SECONDS) as held:
        if not held:
            return RetentionResult(0, 0, 0, 0, 0, skipped=True)
        issues = dispatches = 0
        for issue_id in list(_issues_due(cutoff=cutoffs.deliveries)):
            sealed = issue_deliveries_seal(issue_id=issue_id, cutoff=cutoffs.deliveries)
            issues += bool(sealed)
            dispatches += sealed
        result = RetentionResult(
            issues=issues,
            dispatches=dispatches,
            deliveries=_while_batches(lambda: _deliveries_delete_batch(batch_size=batch_size)),
            bounce_messages=_while_batches(
                lambda: _bounce_messages_delete_batch(
                    cutoff=cutoffs.bounce_messages, batch_size=batch_size
                )
            ),
            engagement_counts=engagement_counts_fold(
                before=cutoffs.engagement_before, batch_size=batch_size
            ),
        )
    # One entry per run, also when there was nothing to purge: the trail then shows that the
    # rule is carried out, not only when it found something.
    audit_record(
        action=AuditAction.RETENTION_PURGE,
        actor=actor,
        label=gettext("gallring"),
        detail={
            **result.counts(),
            "deliveries_finished_before": cutoffs.deliveries.isoformat(),
            "bounce_messages_before": cutoffs.bounce_messages.isoformat(),
            "engagement_days_before": cutoffs.engagement_before.isoformat(),
        },
    )
    return result
