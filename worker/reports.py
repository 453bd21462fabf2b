"""What a dispatch, or all dispatches of an issue, came to: read from the delivery rows.

sent and failed are delivery statuses; bounced and complained are the times the bounce and
complaint handling set on a delivery (a bounce may follow a "sent", so the counts overlap);
unsubscribed are the unsubscribe consent events whose signed link named one of the
dispatches (subscribers.tokens), so an unsubscribe counts against the issue that carried it.
Links mailed before dispatches were named in them cannot be attributed and are not counted.

Per segment uses today's membership: deliveries do not record why a person was planned.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncHour

from newsletter.models import Issue
from subscribers.models import ConsentAction, ConsentEvent, Segment, Subscriber
from subscribers.selectors import segments_membership_q, segments_with_rules

from .models import Delivery, DeliveryStatus, Dispatch

OUTCOMES = ("sent", "failed", "bounced", "complained", "unsubscribed")
# Up to this many hours between the first and the last event the time table is per hour.
HOURLY_UP_TO = dt.timedelta(hours=48)
# Empty periods are shown as zero rows only up to this many, so a late unsubscribe a year on
# does not make a table of 365 empty days.
GAPS_FILLED_UP_TO = 60


@dataclass(frozen=True)
class Outcomes:
    sent: int = 0
    failed: int = 0
    bounced: int = 0
    complained: int = 0
    unsubscribed: int = 0

    def as_tuple(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in OUTCOMES)


@dataclass(frozen=True)
class PeriodRow:
    start: dt.datetime  # local time
    hourly: bool
    outcomes: Outcomes


@dataclass(frozen=True)
class SegmentRow:
    segment: Segment
    outcomes: Outcomes


@dataclass
class DeliveryReport:
    """The outcomes of one or more dispatches: in total, over time and per segment."""

    dispatch_ids: list[int]
    planned: int
    totals: Outcomes
    periods: list[PeriodRow] = field(default_factory=list)
    segments: list[SegmentRow] = field(default_factory=list)

    @property
    def hourly(self) -> bool:
        return bool(self.periods) and self.periods[0].hourly


def _deliveries(dispatch_ids: list[int]) -> QuerySet[Delivery]:
    return Delivery.objects.filter(dispatch_id__in=dispatch_ids)


def _unsubscribes(dispatch_ids: list[int]) -> QuerySet[ConsentEvent]:
    return ConsentEvent.objects.filter(
        action=ConsentAction.UNSUBSCRIBE, detail__dispatch_id__in=dispatch_ids
    )


def _outcomes(deliveries: QuerySet[Delivery], unsubscribes: QuerySet[ConsentEvent]) -> Outcomes:
    counts = deliveries.aggregate(
        sent=Count("id", filter=Q(status=DeliveryStatus.SENT)),
        failed=Count("id", filter=Q(status=DeliveryStatus.FAILED)),
        bounced=Count("id", filter=Q(bounced_at__isnull=False)),
        complained=Count("id", filter=Q(complained_at__isnull=False)),
    )
    return Outcomes(**counts, unsubscribed=unsubscribes.count())


def _per_hour(queryset: QuerySet, timestamp: str) -> dict[dt.datetime, int]:
    zone = ZoneInfo(settings.TIME_ZONE)
    return {
        row["hour"]: row["n"]
        for row in queryset.filter(**{f"{timestamp}__isnull": False})
        .annotate(hour=TruncHour(timestamp, tzinfo=zone))
        .values("hour")
        .annotate(n=Count("id"))
        .order_by()
    }


def _periods(dispatch_ids: list[int]) -> list[PeriodRow]:
    deliveries = _deliveries(dispatch_ids)
    series = {
        "sent": _per_hour(deliveries.filter(status=DeliveryStatus.SENT), "sent_at"),
        "failed": _per_hour(deliveries.filter(status=DeliveryStatus.FAILED), "finished_at"),
        "bounced": _per_hour(deliveries, "bounced_at"),
        "complained": _per_hour(deliveries, "complained_at"),
        "unsubscribed": _per_hour(_unsubscribes(dispatch_ids), "created_at"),
    }
    hours = sorted(set().union(*series.values()))
    if not hours:
        return []
    hourly = hours[-1] - hours[0] <= HOURLY_UP_TO
    zone = ZoneInfo(settings.TIME_ZONE)

    def bucket(moment: dt.datetime) -> dt.datetime:
        moment = moment.astimezone(zone)
        if hourly:
            return moment.replace(minute=0, second=0, microsecond=0)
        return dt.datetime.combine(moment.date(), dt.time(), tzinfo=zone)

    counts: dict[dt.datetime, dict[str, int]] = defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
    for name, per_hour in series.items():
        for hour, n in per_hour.items():
            counts[bucket(hour)][name] += n
    starts = sorted(counts)
    filled = _gaps_filled(starts, hourly=hourly, zone=zone)
    return [
        PeriodRow(
            start=start,
            hourly=hourly,
            outcomes=Outcomes(**counts.get(start, dict.fromkeys(OUTCOMES, 0))),
        )
        for start in filled
    ]


def _gaps_filled(starts: list[dt.datetime], *, hourly: bool, zone: ZoneInfo) -> list[dt.datetime]:
    if hourly:
        # Wall-clock arithmetic in UTC, so a change to or from summer time is one hour too.
        first, last = starts[0].astimezone(dt.UTC), starts[-1].astimezone(dt.UTC)
        steps = int((last - first) / dt.timedelta(hours=1)) + 1
        if steps > GAPS_FILLED_UP_TO:
            return starts
        return [(first + dt.timedelta(hours=i)).astimezone(zone) for i in range(steps)]
    first, last = starts[0].date(), starts[-1].date()
    steps = (last - first).days + 1
    if steps > GAPS_FILLED_UP_TO:
        return starts
    return [
        dt.datetime.combine(first + dt.timedelta(days=i), dt.time(), tzinfo=zone)
        for i in range(steps)
    ]


def _segment_rows(dispatch_ids: list[int], segments: Iterable[Segment]) -> list[SegmentRow]:
    rows = []
    for segment in segments:
        members = Subscriber.objects.filter(segments_membership_q([segment])).values("pk")
        rows.append(
            SegmentRow(
                segment=segment,
                outcomes=_outcomes(
                    _deliveries(dispatch_ids).filter(subscriber_id__in=members),
                    _unsubscribes(dispatch_ids).filter(subscriber_id__in=members),
                ),
            )
        )
    return rows


def _report(dispatches: list[Dispatch]) -> DeliveryReport:
    dispatch_ids = [dispatch.pk for dispatch in dispatches]
    slugs: set[str] | None = set()
    for dispatch in dispatches:
        if dispatch.all_segments:
            slugs = None
            break
        slugs.update(segment.slug for segment in dispatch.segments.all())
    segments = segments_with_rules(slugs).order_by("name")
    return DeliveryReport(
        dispatch_ids=dispatch_ids,
        planned=_deliveries(dispatch_ids).count(),
        totals=_outcomes(_deliveries(dispatch_ids), _unsubscribes(dispatch_ids)),
        periods=_periods(dispatch_ids),
        segments=_segment_rows(dispatch_ids, segments),
    )


def dispatch_report(*, dispatch: Dispatch) -> DeliveryReport:
    """The report of one dispatch."""
    return _report([dispatch])


def issue_report(*, issue: Issue) -> DeliveryReport:
    """The report of every dispatch of the issue, resends included."""
    return _report(list(Dispatch.objects.filter(issue=issue).prefetch_related("segments")))


@dataclass(frozen=True)
class EmailReach:
    people: int
    organisation_ids: frozenset[int]


def issue_email_reach(*, issue: Issue) -> EmailReach:
    """Who the issue reached by email: each person counted once, however many rounds."""
    sent = Delivery.objects.filter(issue_id=issue.pk, status=DeliveryStatus.SENT)
    known = sent.filter(subscriber_id__isnull=False)
    # The delivery of an erased person keeps no subscriber: each such row is one person.
    people = (
        known.values("subscriber_id").distinct().count()
        + sent.filter(subscriber_id__isnull=True).count()
    )
    organisation_ids = frozenset(
        known.filter(subscriber__organisation_id__isnull=False)
        .values_list("subscriber__organisation_id", flat=True)
        .distinct()
    )
    return EmailReach(people=people, organisation_ids=organisation_ids)
