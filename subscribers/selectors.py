"""Reads of the subscriber domain: who belongs to which segment, who may be mailed."""

from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import (
    EMAIL_CHANNELS,
    Segment,
    Subscriber,
    SubscriberStatus,
    Suppression,
)


def segment_rule_q(segment: Segment) -> Q | None:
    """The rule part of a segment as a filter on Subscriber, or None when it has no rule.

    The M2M ids are read from prefetched data when available so that building the filter for
    several segments costs no query per segment.
    """
    conditions = Q()
    has_rule = False
    if segment.rule_kinds:
        conditions &= Q(organisation__kind__in=segment.rule_kinds)
        has_rule = True
    region_ids = [region.pk for region in segment.rule_regions.all()]
    if region_ids:
        conditions &= Q(organisation__region_id__in=region_ids)
        has_rule = True
    municipality_ids = [municipality.pk for municipality in segment.rule_municipalities.all()]
    if municipality_ids:
        conditions &= Q(organisation__municipality_id__in=municipality_ids)
        has_rule = True
    return conditions if has_rule else None


def segments_membership_q(segments: Iterable[Segment]) -> Q:
    """A filter matching subscribers who belong to any of the segments (explicitly or by rule).

    Written with EXISTS and forward joins only, so it never multiplies rows and the caller
    needs no DISTINCT.
    """
    segments = list(segments)
    membership = Q(
        Exists(
            Subscriber.segments.through.objects.filter(
                subscriber_id=OuterRef("pk"), segment_id__in=[segment.pk for segment in segments]
            )
        )
    )
    for segment in segments:
        rule = segment_rule_q(segment)
        if rule is not None:
            membership |= rule
    return membership


def segments_with_rules(slugs: Iterable[str] | None = None) -> QuerySet[Segment]:
    queryset = Segment.objects.prefetch_related("rule_regions", "rule_municipalities")
    if slugs is not None:
        queryset = queryset.filter(slug__in=list(slugs))
    return queryset


def segment_members(*, segments: Iterable[Segment]) -> QuerySet[Subscriber]:
    return Subscriber.objects.filter(segments_membership_q(segments))


def suppressed_q() -> Q:
    return Q(Exists(Suppression.objects.filter(email_hash=OuterRef("email_hash"))))


def subscribers_mailable(*, segments: Iterable[Segment]) -> QuerySet[Subscriber]:
    """Active subscribers on an email channel, in any of the segments, not suppressed."""
    return (
        Subscriber.objects.filter(status=SubscriberStatus.ACTIVE, channel__in=EMAIL_CHANNELS)
        .filter(segments_membership_q(segments))
        .exclude(suppressed_q())
    )


def segment_member_count(segment: Segment) -> int:
    return segment_members(segments=[segment]).count()
