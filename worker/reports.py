"""What a dispatch, or all dispatches of an issue, came to: read from the delivery rows.

sent and failed are delivery statuses; bounced and complained are the times the bounce and
complaint handling set on a delivery (a bounce may follow a "sent", so the counts overlap);
unsubscribed are the unsubscribe consent events whose signed link named one of the
dispatches (subscribers.tokens), so an unsubscribe counts against the issue that carried it.
Links mailed before dispatches were named in them cannot be attributed and are not counted.

Per segment uses today's membership: deliveries do not record why a person was planned.

A dispatch whose delivery rows were purged by the retention rule (worker/retention.py) is
read from its DispatchTotals row instead, written from the rows by `dispatch_totals_count`
below: the same counts, so a report shows the same numbers before and after the purge (per
segment: membership as it was at the purge). Unsubscribes are consent events, never purged,
and are read as before.
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

from .models import Delivery, DeliveryStatus, Dispatch, DispatchTotals, IssueReachTotals

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

    def __add__(self, other: Outcomes) -> Outcomes:
        return Outcomes(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple(), strict=True)))


# The outcomes a DispatchTotals row keeps (unsubscribes are consent events, never purged).
KEPT_OUTCOMES = ("sent", "failed", "bounced", "complained")


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


def _delivery_counts(deliveries: QuerySet[Delivery]) -> dict[str, int]:
    return deliveries.aggregate(
        sent=Count("id", filter=Q(status=DeliveryStatus.SENT)),
        failed=Count("id", filter=Q(status=DeliveryStatus.FAILED)),
        bounced=Count("id", filter=Q(bounced_at__isnull=False)),
        complained=Count("id", filter=Q(complained_at__isnull=False)),
    )


def _outcomes(deliveries: QuerySet[Delivery], unsubscribes: QuerySet[ConsentEvent]) -> Outcomes:
    return Outcomes(**_delivery_counts(deliveries), unsubscribed=unsubscribes.count())


def _kept_outcomes(counts: dict) -> Outcomes:
    return Outcomes(**{name: int(counts.get(name, 0)) for name in KEPT_OUTCOMES})


def _delivery_series(deliveries: QuerySet[Delivery]) -> dict[str, dict[dt.datetime, int]]:
    return {
        "sent": _per_hour(deliveries.filter(status=DeliveryStatus.SENT), "sent_at"),
        "failed": _per_hour(deliveries.filter(status=DeliveryStatus.FAILED), "finished_at"),
        "bounced": _per_hour(deliveries, "bounced_at"),
        "complained": _per_hour(deliveries, "complained_at"),
    }


def dispatch_totals_count(*, dispatch: Dispatch, segments: Iterable[Segment]) -> dict:
    """The fields of the DispatchTotals row that keeps what the dispatch's deliveries came to
    (status counts for the progress, outcomes per hour and per segment for the reports)."""
    deliveries = Delivery.objects.filter(dispatch_id=dispatch.pk)
    by_status = dict(
        deliveries.order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    hours: dict[str, dict[str, int]] = defaultdict(dict)
    for name, per_hour in _delivery_series(deliveries).items():
        for hour, n in per_hour.items():
            hours[hour.isoformat()][name] = n
    per_segment = {}
    for segment in segments:
        members = Subscriber.objects.filter(segments_membership_q([segment])).values("pk")
        counts = _delivery_counts(deliveries.filter(subscriber_id__in=members))
        if any(counts.values()):
            per_segment[str(segment.pk)] = counts
    counts = _delivery_counts(deliveries)
    return {
        "deliveries": sum(by_status.values()),
        **{status.value: by_status.get(status.value, 0) for status in DeliveryStatus},
        "bounced": counts["bounced"],
        "complained": counts["complained"],
        "hours": dict(hours),
        "segments": per_segment,
    }


@dataclass(frozen=True)
class _Split:
    """The dispatches still read from their delivery rows, and the kept totals of the rest."""

    live_ids: list[int]
    kept: list[DispatchTotals]


def _split(dispatch_ids: list[int]) -> _Split:
    purged = set(
        Dispatch.objects.filter(
            pk__in=dispatch_ids, deliveries_purged_at__isnull=False
        ).values_list("pk", flat=True)
    )
    return _Split(
        live_ids=[pk for pk in dispatch_ids if pk not in purged],
        kept=list(DispatchTotals.objects.filter(dispatch_id__in=purged)),
    )


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


def _periods(dispatch_ids: list[int], split: _Split) -> list[PeriodRow]:
    series = {
        **_delivery_series(_deliveries(split.live_ids)),
        "unsubscribed": _per_hour(_unsubscribes(dispatch_ids), "created_at"),
    }
    for kept in split.kept:
        for hour, counts in kept.hours.items():
            moment = dt.datetime.fromisoformat(hour)
            for name, n in counts.items():
                series[name][moment] = series[name].get(moment, 0) + n
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


def _segment_rows(
    dispatch_ids: list[int], split: _Split, segments: Iterable[Segment]
) -> list[SegmentRow]:
    rows = []
    for segment in segments:
        members = Subscriber.objects.filter(segments_membership_q([segment])).values("pk")
        outcomes = _outcomes(
            _deliveries(split.live_ids).filter(subscriber_id__in=members),
            _unsubscribes(dispatch_ids).filter(subscriber_id__in=members),
        )
        for kept in split.kept:
            outcomes += _kept_outcomes(kept.segments.get(str(segment.pk), {}))
        rows.append(SegmentRow(segment=segment, outcomes=outcomes))
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
    split = _split(dispatch_ids)
    totals = _outcomes(_deliveries(split.live_ids), _unsubscribes(dispatch_ids))
    for kept in split.kept:
        totals += Outcomes(**{name: getattr(kept, name) for name in KEPT_OUTCOMES})
    return DeliveryReport(
        dispatch_ids=dispatch_ids,
        planned=_deliveries(split.live_ids).count() + sum(kept.deliveries for kept in split.kept),
        totals=totals,
        periods=_periods(dispatch_ids, split),
        segments=_segment_rows(dispatch_ids, split, segments),
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
    """Who the issue reached by email: each person counted once, however many rounds.

    An issue's deliveries are purged all at once (worker/retention.py), and its reach is kept
    with them."""
    kept = IssueReachTotals.objects.filter(issue_id=issue.pk).first()
    if kept is not None:
        return EmailReach(people=kept.people, organisation_ids=frozenset(kept.organisation_ids))
    return issue_email_reach_count(issue=issue)


def issue_email_reach_count(*, issue: Issue) -> EmailReach:
    """The reach counted from the delivery rows (what IssueReachTotals keeps)."""
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
