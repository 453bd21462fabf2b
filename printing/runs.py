"""Print runs: who gets how many paper copies of an issue, at which address.

Line rules (one line per recipient key):

- Only *active* subscribers on a print channel (print, email+print) count; pending,
  unsubscribed, bounced and erased people never do. People with a protected identity are
  left out entirely and only counted, so no export can reveal them.
- A print subscriber with a personal address (any address field filled in) gets their own
  line ``sub:<id>`` with ``print_copies`` copies (1 when empty).
- A print subscriber without a personal address makes their organisation a recipient: one
  line ``org:<id>`` per organisation, however many print contacts it has, with the
  organisation's ``print_copies`` at the organisation's address.
- With segments chosen, only print subscribers in those segments (explicitly or by rule) count,
  so an organisation is in when one of its print contacts is.
- The editor's extra lines ``extra:<id>`` (archive copies, fairs) always belong to the issue's
  list, whatever the segment filter.
- A line whose address is missing or invalid, or whose copies are 0, is never dropped: it goes
  to the "to fix" list, and is not counted in the totals until fixed.

Total copies = copies of the recipient lines + copies of the extra lines.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from newsletter.models import Issue
from subscribers.models import (
    PRINT_CHANNELS,
    Segment,
    Subscriber,
    SubscriberStatus,
)
from subscribers.selectors import segments_membership_q, segments_resolve, segments_with_rules
from subscribers.validation import postal_code_normalise

from .lists import SWEDEN_NAMES, PrintLine, PrintList, address_problem
from .models import PrintExtraLine, PrintLineKind, PrintRun, PrintRunLine


class PrintListIncomplete(ValueError):
    """Raised when a list with lines to fix would be finalised without saying it is fine."""


def _normalised_postal_code(value: str, country: str) -> str:
    if country.strip().lower() not in SWEDEN_NAMES:
        return value.strip()
    try:
        return postal_code_normalise(value)
    except ValidationError:
        return value.strip()


def _segments_resolve(segment_slugs: Iterable[str] | None) -> list[Segment] | None:
    """The chosen segments, or None for no segment filter (every print reader)."""
    if not segment_slugs:
        return None
    return segments_resolve(segment_slugs)


def _extra_lines(issue: Issue) -> list[PrintLine]:
    lines = []
    for extra in PrintExtraLine.objects.filter(issue=issue):
        problem = ""
        if extra.has_own_address:
            problem = address_problem(
                street=extra.street,
                postal_code=extra.postal_code,
                city=extra.city,
                country=extra.country,
            )
        lines.append(
            PrintLine(
                recipient_key=f"extra:{extra.pk}",
                kind=PrintLineKind.EXTRA,
                name=extra.label,
                organisation=extra.organisation_name,
                care_of=extra.care_of,
                street=extra.street,
                postal_code=_normalised_postal_code(extra.postal_code, extra.country),
                city=extra.city,
                country=extra.country,
                copies=extra.copies,
                problem=problem,
            )
        )
    return lines


def print_list_draft(*, issue: Issue, segment_slugs: Iterable[str] | None = None) -> PrintList:
    """The issue's print list computed now from the subscriber data."""
    segments = _segments_resolve(segment_slugs)
    lines, protected_excluded = _recipient_lines(segments)
    lines.extend(_extra_lines(issue))
    return _print_list_build(
        issue=issue,
        run=None,
        segment_slugs=tuple(segment.slug for segment in segments or ()),
        lines=lines,
        protected_excluded=protected_excluded,
    )


def print_recipients_to_fix() -> list[PrintLine]:
    """Today's print recipients (people and organisations, any segment) whose line cannot go
    to the printer, with the reason: the same rules as every print list."""
    lines, _protected = _recipient_lines(None)
    return sorted((line for line in lines if line.problem), key=PrintLine.sort_key)


def _recipient_lines(segments: list[Segment] | None) -> tuple[list[PrintLine], int]:
    """The lines of the print readers (in the segments, or all), and how many people with a
    protected identity were left out."""
    candidates = Subscriber.objects.filter(
        status=SubscriberStatus.ACTIVE, channel__in=PRINT_CHANNELS
    )
    if segments is not None:
        candidates = candidates.filter(segments_membership_q(segments))
    protected_excluded = candidates.filter(protected_identity=True).count()
    subscribers = list(
        candidates.filter(protected_identity=False).select_related(
            "organisation__municipality", "organisation__region"
        )
    )

    # Segment membership per subscriber: one query per segment, not per subscriber.
    member_of: dict[int, set[str]] = defaultdict(set)
    subscriber_ids = [subscriber.pk for subscriber in subscribers]
    for segment in segments if segments is not None else segments_with_rules():
        for pk in (
            Subscriber.objects.filter(pk__in=subscriber_ids)
            .filter(segments_membership_q([segment]))
            .values_list("pk", flat=True)
        ):
            member_of[pk].add(segment.slug)

    lines: list[PrintLine] = []
    organisation_contacts: dict[int, list[Subscriber]] = defaultdict(list)
    for subscriber in subscribers:
        organisation = subscriber.organisation
        if not subscriber.has_own_address and organisation is not None:
            organisation_contacts[organisation.pk].append(subscriber)
            continue
        copies = subscriber.print_copies if subscriber.print_copies is not None else 1
        if subscriber.has_own_address:
            problem = address_problem(
                street=subscriber.street,
                postal_code=subscriber.postal_code,
                city=subscriber.city,
                country=subscriber.country,
            )
        else:
            problem = _("ingen egen adress och ingen organisation")
        if not problem and copies == 0:
            problem = _("antal exemplar är 0")
        lines.append(
            PrintLine(
                recipient_key=f"sub:{subscriber.pk}",
                kind=PrintLineKind.SUBSCRIBER,
                name=subscriber.name or subscriber.email,
                organisation=organisation.name if organisation else "",
                care_of=subscriber.care_of,
                street=subscriber.street,
                postal_code=_normalised_postal_code(subscriber.postal_code, subscriber.country),
                city=subscriber.city,
                country=subscriber.country,
                copies=copies,
                organisation_kind=organisation.kind if organisation else "",
                municipality=str(organisation.municipality or "") if organisation else "",
                region=str(organisation.region or "") if organisation else "",
                segment_slugs=tuple(sorted(member_of[subscriber.pk])),
                problem=problem,
            )
        )

    for contacts in organisation_contacts.values():
        organisation = contacts[0].organisation
        problem = address_problem(
            street=organisation.street,
            postal_code=organisation.postal_code,
            city=organisation.city,
            country=organisation.country,
        )
        if not problem and organisation.print_copies == 0:
            problem = _("antal exemplar är 0")
        slugs = set().union(*(member_of[contact.pk] for contact in contacts))
        lines.append(
            PrintLine(
                recipient_key=f"org:{organisation.pk}",
                kind=PrintLineKind.ORGANISATION,
                name="",
                organisation=organisation.name,
                care_of=organisation.care_of,
                street=organisation.street,
                postal_code=_normalised_postal_code(organisation.postal_code, organisation.country),
                city=organisation.city,
                country=organisation.country,
                copies=organisation.print_copies,
                organisation_kind=organisation.kind,
                municipality=str(organisation.municipality or ""),
                region=str(organisation.region or ""),
                segment_slugs=tuple(sorted(slugs)),
                problem=problem,
            )
        )

    return lines, protected_excluded


def _print_list_build(
    *,
    issue: Issue,
    run: PrintRun | None,
    segment_slugs: tuple[str, ...],
    lines: list[PrintLine],
    protected_excluded: int = 0,
) -> PrintList:
    lines = sorted(lines, key=PrintLine.sort_key)
    return PrintList(
        issue=issue,
        run=run,
        segment_slugs=segment_slugs,
        lines=[line for line in lines if not line.problem],
        to_fix=[line for line in lines if line.problem],
        protected_excluded=protected_excluded,
    )


def print_run_latest(*, issue: Issue) -> PrintRun | None:
    return (
        PrintRun.objects.filter(issue=issue)
        .select_related("finalised_by")
        .order_by("-finalised_at", "-id")
        .first()
    )


def print_list_from_run(run: PrintRun) -> PrintList:
    lines = [
        PrintLine(
            recipient_key=row.recipient_key,
            kind=row.kind,
            name=row.name,
            organisation=row.organisation,
            care_of=row.care_of,
            street=row.street,
            postal_code=row.postal_code,
            city=row.city,
            country=row.country,
            copies=row.copies,
            organisation_kind=row.organisation_kind,
            municipality=row.municipality,
            region=row.region,
            segment_slugs=tuple(row.segment_slugs),
            problem=row.problem,
        )
        for row in run.lines.all()
    ]
    return _print_list_build(
        issue=run.issue, run=run, segment_slugs=tuple(run.segment_slugs), lines=lines
    )


def print_list_for_export(
    *, issue: Issue, segment_slugs: Iterable[str] | None = None, draft: bool = False
) -> PrintList:
    """The list to hand out: the final run in force if there is one, else a live draft."""
    segment_slugs = list(segment_slugs or [])
    run = None if draft else print_run_latest(issue=issue)
    if run is None:
        return print_list_draft(issue=issue, segment_slugs=segment_slugs)
    # An unknown slug is an error either way; the run filters by the slugs as stored.
    segments = _segments_resolve(segment_slugs) or []
    return print_list_from_run(run).filtered_to_segments([segment.slug for segment in segments])


@transaction.atomic
def print_run_finalise(
    *,
    issue: Issue,
    user=None,
    segment_slugs: Iterable[str] | None = None,
    allow_incomplete: bool = False,
) -> PrintRun:
    """Freeze the current draft as the run sent to the printer."""
    draft = print_list_draft(issue=issue, segment_slugs=segment_slugs)
    if draft.to_fix and not allow_incomplete:
        raise PrintListIncomplete(
            _("%(count)d mottagare har ofullständig adress") % {"count": len(draft.to_fix)}
        )
    run = PrintRun.objects.create(
        issue=issue,
        segment_slugs=list(draft.segment_slugs),
        finalised_at=timezone.now(),
        finalised_by=user if user is not None and user.is_authenticated else None,
        total_copies=draft.total_copies,
    )
    PrintRunLine.objects.bulk_create(
        PrintRunLine(
            run=run,
            **{
                field.name: getattr(line, field.name)
                for field in dataclasses.fields(PrintLine)
                if field.name != "segment_slugs"
            },
            segment_slugs=list(line.segment_slugs),
        )
        for line in [*draft.lines, *draft.to_fix]
    )
    audit_record(
        action=AuditAction.PRINT_RUN_FINAL,
        actor=user,
        target=run,
        detail={
            "issue": issue.pk,
            "copies": run.total_copies,
            "lines": len(draft.lines),
            "incomplete": len(draft.to_fix),
            "segments": list(draft.segment_slugs),
        },
    )
    return run
