"""What a dispatch would do, counted before anything is created: the confirmation page in the
admin and `send_issue --dry-run` show the same numbers, from the same rule planning uses.

The counts are set-based queries over the segments' members (overlaps counted once), so a
preview of 100,000 people is as quick as planning them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q

from newsletter.models import Issue
from newsletter.rendering import issue_current_version
from subscribers.mailable import mailable_q, suppressed
from subscribers.models import Segment
from subscribers.selectors import segment_members, segments_with_rules

from .models import Delivery, DeliveryStatus, Dispatch
from .services import dispatch_segments_choose, issue_deliveries_kept_check


@dataclass(frozen=True)
class SegmentCount:
    slug: str
    name: str
    members: int
    mailable: int


@dataclass(frozen=True)
class DispatchPreview:
    issue: Issue
    subject: str
    version: str  # the rendering version that would go out (newsletter.rendering)
    round: int
    all_segments: bool
    segments: list[SegmentCount] = field(default_factory=list)
    members: int = 0  # people in any of the segments, each once
    suppressed: int = 0  # their address is on the suppression list
    ineligible: int = 0  # not active, or no email channel (and not suppressed)
    already_planned: int = 0  # mailable, but this issue (this round) is theirs already
    recipients: int = 0  # what planning will insert: the number of emails this sends
    second_time: int = 0  # of the recipients, how many got this issue in an earlier round

    @property
    def mailable(self) -> int:
        return self.recipients + self.already_planned

    def lines(self) -> list[str]:
        """The preview as text, for send_issue --dry-run (Swedish, like the command)."""
        head = [
            f"Nummer: {self.issue.slug} ({self.issue.title})",
            f"Ämnesrad: {self.subject}",
            f"Version: {self.version[:12]}",
            "Segment: "
            + ("alla segment" if self.all_segments else ", ".join(s.slug for s in self.segments)),
        ]
        table = [
            f"  {segment.slug}: {segment.members} i segmentet, {segment.mailable} kan få e-post"
            for segment in self.segments
        ]
        tail = [
            f"I segmenten (var och en en gång): {self.members}",
            f"  spärrade adresser: {self.suppressed}",
            f"  inte aktiva eller utan e-post: {self.ineligible}",
            f"  har redan fått eller ska få numret: {self.already_planned}",
            f"Mottagare: {self.recipients}",
        ]
        if self.round:
            tail.append(
                f"Omgång {self.round}: {self.second_time} av dem får numret för andra gången."
            )
        return head + table + tail


def _segments(segment_slugs: list[str]) -> tuple[list[Segment], bool]:
    chosen = dispatch_segments_choose(segment_slugs)
    if not chosen:
        return list(segments_with_rules()), True
    return list(segments_with_rules([segment.slug for segment in chosen])), False


def dispatch_preview(
    *, issue: Issue, segment_slugs: list[str], round: int = 0, all_segments: bool | None = None
) -> DispatchPreview:
    """The counts for a dispatch of `issue` to the segments (none named: all of them).

    Refused (ValidationError) for an issue whose deliveries were purged: the counts of who
    already has it would be wrong."""
    issue_deliveries_kept_check(issue)
    segments, every = _segments(segment_slugs)
    if all_segments is not None:
        every = all_segments
    members = _each_once(segment_members(segments=segments)) if segments else None
    if members is None:
        counts = dict.fromkeys(("members", "suppressed", "ineligible", "planned", "new"), 0)
        second = 0
    else:
        has_delivery = Exists(
            Delivery.objects.filter(issue=issue, round=round, subscriber=OuterRef("pk"))
        )
        got_before = Exists(
            Delivery.objects.filter(
                issue=issue,
                round__lt=round,
                status=DeliveryStatus.SENT,
                subscriber=OuterRef("pk"),
            )
        )
        mailable = Q(mailable_q())
        counts = members.aggregate(
            members=_count(Q()),
            suppressed=_count(Q(suppressed())),
            ineligible=_count(~mailable & ~Q(suppressed())),
            planned=_count(mailable & Q(has_delivery)),
            new=_count(mailable & ~Q(has_delivery)),
        )
        second = (
            members.filter(mailable).exclude(has_delivery).filter(got_before).count()
            if round
            else 0
        )
    per_segment = [
        SegmentCount(
            slug=segment.slug,
            name=segment.name,
            members=_each_once(segment_members(segments=[segment])).count(),
            mailable=_each_once(segment_members(segments=[segment])).filter(mailable_q()).count(),
        )
        for segment in segments
    ]
    return DispatchPreview(
        issue=issue,
        subject=issue.subject,
        version=issue_current_version(issue=issue),
        round=round,
        all_segments=every,
        segments=per_segment,
        members=counts["members"],
        suppressed=counts["suppressed"],
        ineligible=counts["ineligible"],
        already_planned=counts["planned"],
        recipients=counts["new"],
        second_time=second,
    )


def _count(condition: Q):
    from django.db.models import Count

    return Count("pk", filter=condition)


def _each_once(members):
    # Membership by rule and by hand can name a person twice; an id subquery counts them
    # once without DISTINCT, which would stop the Exists() filters from reaching the row.
    from subscribers.models import Subscriber

    return Subscriber.objects.filter(pk__in=members.values("pk"))


def resend_preview(*, dispatch: Dispatch) -> DispatchPreview:
    """What `dispatch_resend` would send: the same segments, the next round."""
    from django.db.models import Max

    last_round = Dispatch.objects.filter(issue=dispatch.issue).aggregate(Max("round"))
    return dispatch_preview(
        issue=dispatch.issue,
        segment_slugs=[segment.slug for segment in dispatch.segments.all()],
        round=(last_round["round__max"] or 0) + 1,
        all_segments=dispatch.all_segments,
    )
