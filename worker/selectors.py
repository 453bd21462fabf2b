"""Reads of the sending pipeline: progress of a dispatch."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db.models import Count

from .models import Delivery, DeliveryStatus, Dispatch


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

    @property
    def finished(self) -> int:
        return self.sent + self.failed + self.skipped + self.cancelled

    @property
    def percent(self) -> int:
        return round(100 * self.finished / self.planned) if self.planned else 100

    def as_json(self) -> dict:
        return {**asdict(self), "finished": self.finished, "percent": self.percent}


def dispatch_progress(*, dispatch: Dispatch) -> DispatchProgress:
    """Counters by status, from one grouped query (index delivery_claim covers it)."""
    counts = dict(
        Delivery.objects.filter(dispatch=dispatch)
        .order_by()
        .values_list("status")
        .annotate(total=Count("id"))
        .values_list("status", "total")
    )
    return DispatchProgress(
        dispatch_id=dispatch.pk,
        status=dispatch.status,
        status_display=dispatch.get_status_display(),
        reason=dispatch.status_reason,
        planned=dispatch.planned_count,
        **{status.value: counts.get(status.value, 0) for status in DeliveryStatus},
    )
