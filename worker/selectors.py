"""Reads of the sending pipeline: progress of a dispatch, with its rate and time left.

One selector for every place an operator watches a dispatch from (`send_issue --wait`,
`dispatch_status`, the admin page), so the numbers never disagree between them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from django.db.models import Count, Q, Value
from django.utils import timezone

from .models import (
    DISPATCH_FINAL_STATUSES,
    Delivery,
    DeliveryStatus,
    Dispatch,
    DispatchStatus,
    DispatchTotals,
)

# The rate is measured over the last minute: long enough to smooth out batch boundaries and
# the recorder's group commits, short enough that a slowdown shows within a minute.
PROGRESS_RATE_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class DispatchProgress:
    dispatch_id: int
    status: str
    status_display: str
    reason: str
    planned: int
    queued: int
    sending: int
    sent: int
    failed: int
    skipped: int
    cancelled: int
    # Outcomes (sent + failed) per second: over the recent window while the dispatch can
    # still send, over the whole run once it is final. None before anything happened.
    rate_per_second: float | None = None
    # Seconds the rate was measured over.
    rate_seconds: float = 0.0
    # Seconds left at the current rate; None when unknown (no rate yet, paused, final).
    eta_seconds: float | None = None
    # Seconds since the dispatch started sending (to its end once final).
    elapsed_seconds: float | None = None

    @property
    def total(self) -> int:
        return self.planned

    @property
    def remaining(self) -> int:
        return self.queued + self.sending

    @property
    def finished(self) -> int:
        return self.sent + self.failed + self.skipped + self.cancelled

    @property
    def percent(self) -> int:
        return round(100 * self.finished / self.planned) if self.planned else 100

    @property
    def is_final(self) -> bool:
        return self.status in DISPATCH_FINAL_STATUSES

    def as_json(self) -> dict:
        return {
            **asdict(self),
            "total": self.total,
            "remaining": self.remaining,
            "finished": self.finished,
            "percent": self.percent,
        }


def dispatch_progress(
    *, dispatch: Dispatch | None = None, dispatch_id: int | None = None
) -> DispatchProgress:
    """Counters by status (one grouped query, index delivery_dispatch) plus rate and time left.

    Times compare the workers' clocks (they stamp finished_at) with this process's clock, so
    the machines are assumed to keep time with NTP; a skew shows only as a wrong rate.
    """
    if dispatch is None:
        dispatch = Dispatch.objects.get(pk=dispatch_id)
    now = timezone.now()
    rate = eta = elapsed = None
    rate_seconds = 0.0
    since = None  # the start of the rate's window, while the dispatch is running
    if dispatch.started_at is not None:
        end = dispatch.finished_at if dispatch.is_final and dispatch.finished_at else now
        elapsed = max(0.0, (end - dispatch.started_at).total_seconds())
        if dispatch.is_final:
            rate_seconds = elapsed
        else:
            # A dispatch younger than the window is measured over its life so far; one
            # second at least, so the first records do not make a wild rate.
            rate_seconds = max(1.0, min(float(PROGRESS_RATE_WINDOW_SECONDS), elapsed))
            since = now - timedelta(seconds=rate_seconds)
    in_window: dict[str, int] = {}
    if dispatch.deliveries_purged_at is not None:
        # The rows are gone (worker/retention.py); what they came to was kept.
        kept = DispatchTotals.objects.get(dispatch_id=dispatch.pk)
        counts = {status.value: getattr(kept, status.value) for status in DeliveryStatus}
    else:
        # One pass over the dispatch's rows (index delivery_dispatch; no index holds the
        # status, see Delivery.Meta.indexes) for the counters and the rate's window both.
        grouped = list(
            Delivery.objects.filter(dispatch=dispatch)
            .order_by()
            .values_list("status")
            .annotate(
                total=Count("id"),
                recent=Count("id", filter=Q(finished_at__gte=since))
                if since is not None
                else Value(0),
            )
            .values_list("status", "total", "recent")
        )
        counts = {status: total for status, total, _recent in grouped}
        in_window = {status: recent for status, _total, recent in grouped}
    by_status = {status.value: counts.get(status.value, 0) for status in DeliveryStatus}
    if dispatch.started_at is not None:
        outcomes = by_status[DeliveryStatus.SENT] + by_status[DeliveryStatus.FAILED]
        if since is None:
            done_in_window = outcomes
        else:
            done_in_window = in_window.get(DeliveryStatus.SENT, 0) + in_window.get(
                DeliveryStatus.FAILED, 0
            )
        if rate_seconds > 0 and (done_in_window or not dispatch.is_final):
            rate = done_in_window / rate_seconds
        remaining = by_status[DeliveryStatus.QUEUED] + by_status[DeliveryStatus.SENDING]
        if dispatch.status == DispatchStatus.SENDING and rate:
            eta = remaining / rate
    return DispatchProgress(
        dispatch_id=dispatch.pk,
        status=dispatch.status,
        status_display=str(dispatch.get_status_display()),
        reason=dispatch.status_reason,
        planned=dispatch.planned_count,
        **by_status,
        rate_per_second=rate,
        rate_seconds=rate_seconds,
        eta_seconds=eta,
        elapsed_seconds=elapsed,
    )
