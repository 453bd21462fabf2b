"""Reads of the print domain for other pages (the issue report)."""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.models import Issue
from subscribers.models import Subscriber

from .models import PrintLineKind
from .runs import print_list_for_export


@dataclass(frozen=True)
class PrintReach:
    copies: int
    organisation_ids: frozenset[int]
    final: bool  # False: no run is marked final yet, the numbers are today's draft


def issue_print_reach(*, issue: Issue) -> PrintReach:
    """The copies of the issue's print run in force (or of today's draft when none is final),
    and the organisations its lines go to or on behalf of."""
    print_list = print_list_for_export(issue=issue)
    organisation_ids: set[int] = set()
    subscriber_ids: list[int] = []
    for line in print_list.lines:
        kind, _, key = line.recipient_key.partition(":")
        if not key.isdigit():
            continue
        if line.kind == PrintLineKind.ORGANISATION:
            organisation_ids.add(int(key))
        elif line.kind == PrintLineKind.SUBSCRIBER:
            subscriber_ids.append(int(key))
    organisation_ids.update(
        Subscriber.objects.filter(pk__in=subscriber_ids, organisation_id__isnull=False)
        .values_list("organisation_id", flat=True)
        .distinct()
    )
    return PrintReach(
        copies=print_list.total_copies,
        organisation_ids=frozenset(organisation_ids),
        final=print_list.is_final,
    )
