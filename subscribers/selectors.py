"""Reads of the subscriber domain: who belongs to which segment, who may be mailed."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from .mailable import mailable_q
from .models import Segment, Subscriber


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


class UnknownSegment(ValidationError):
    """A segment slug that names no segment (every entry point reports it the same way)."""

    def __str__(self) -> str:
        # The message itself, not ValidationError's list repr: commands and pages show it.
        return " ".join(self.messages)


class SegmentDirectory:
    """Every segment by slug, loaded once, for resolving many slugs (an import's rows)."""

    def __init__(self, segments: Iterable[Segment]) -> None:
        # Slugs are matched case-insensitively: "Partners" in a file means "partners".
        self.by_slug = {segment.slug.casefold(): segment for segment in segments}

    @classmethod
    def load(cls) -> SegmentDirectory:
        return cls(segments_with_rules())

    def resolve(self, slugs: Iterable[str]) -> list[Segment]:
        """The named segments in slug order, each once; raises UnknownSegment naming every
        slug that matches none."""
        wanted = sorted({slug.strip().casefold() for slug in slugs if slug.strip()})
        unknown = [slug for slug in wanted if slug not in self.by_slug]
        if unknown:
            raise UnknownSegment(
                _("okänt segment: %s") % ", ".join(unknown), code="unknown_segment"
            )
        return [self.by_slug[slug] for slug in wanted]


def segments_resolve(slugs: Iterable[str]) -> list[Segment]:
    """The one rule for turning segment slugs given by a person into segments."""
    return SegmentDirectory.load().resolve(slugs)


def segment_members(*, segments: Iterable[Segment]) -> QuerySet[Subscriber]:
    return Subscriber.objects.filter(segments_membership_q(segments))


def subscribers_mailable(*, segments: Iterable[Segment]) -> QuerySet[Subscriber]:
    """Subscribers who may be mailed (see subscribers.mailable) in any of the segments."""
    return Subscriber.objects.filter(mailable_q()).filter(segments_membership_q(segments))


def segment_member_count(segment: Segment) -> int:
    return segment_members(segments=[segment]).count()
