"""The values a print list is made of: lines, totals, the list itself and diffs between lists.

Plain data, no queries: a live draft and a frozen run look the same to the exports, the staff
page and the diff. The rules that decide which lines exist are in runs.py.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from newsletter.models import Issue
from subscribers.models import OrganisationKind, address_given
from subscribers.validation import postal_code_normalise

from .models import PrintLineKind, PrintRun

SWEDEN_NAMES = {"", "sverige", "sweden", "se"}
DIFF_FIELDS = (
    "name",
    "organisation",
    "care_of",
    "street",
    "postal_code",
    "city",
    "country",
    "copies",
    "problem",
)


@dataclasses.dataclass(frozen=True)
class PrintLine:
    recipient_key: str
    kind: str
    name: str
    organisation: str
    care_of: str
    street: str
    postal_code: str
    city: str
    country: str
    copies: int
    organisation_kind: str = ""
    municipality: str = ""
    region: str = ""
    segment_slugs: tuple[str, ...] = ()
    problem: str = ""

    @property
    def is_domestic(self) -> bool:
        return self.country.strip().lower() in SWEDEN_NAMES

    @property
    def has_address(self) -> bool:
        return address_given(street=self.street, postal_code=self.postal_code, city=self.city)

    @property
    def organisation_kind_label(self) -> str:
        if self.kind == PrintLineKind.EXTRA:
            return _("Extra")
        if not self.organisation_kind:
            return _("Utan organisation")
        return str(OrganisationKind(self.organisation_kind).label)

    def sort_key(self) -> tuple:
        # Sorted bulk mail goes in postnummer order; foreign addresses after the Swedish
        # ones, lines without an address (archive copies) last.
        return (
            not self.has_address,
            not self.is_domestic,
            self.country.lower(),
            self.postal_code.replace(" ", ""),
            self.city.lower(),
            self.organisation.lower(),
            self.name.lower(),
            self.recipient_key,
        )


@dataclasses.dataclass(frozen=True)
class Total:
    label: str
    lines: int
    copies: int


@dataclasses.dataclass
class PrintList:
    """A print list, either a live draft (run is None) or a frozen final run."""

    issue: Issue
    run: PrintRun | None
    segment_slugs: tuple[str, ...]
    lines: list[PrintLine]
    to_fix: list[PrintLine]
    protected_excluded: int = 0

    @property
    def is_final(self) -> bool:
        return self.run is not None

    @property
    def recipient_lines(self) -> list[PrintLine]:
        return [line for line in self.lines if line.kind != PrintLineKind.EXTRA]

    @property
    def extra_lines(self) -> list[PrintLine]:
        return [line for line in self.lines if line.kind == PrintLineKind.EXTRA]

    @property
    def recipient_copies(self) -> int:
        return sum(line.copies for line in self.recipient_lines)

    @property
    def extra_copies(self) -> int:
        return sum(line.copies for line in self.extra_lines)

    @property
    def total_copies(self) -> int:
        return self.recipient_copies + self.extra_copies

    @property
    def source_description(self) -> str:
        if self.run is None:
            return _("Utkast beräknat %(time)s (inte markerat som slutligt)") % {
                "time": timezone.localtime().strftime("%Y-%m-%d %H:%M")
            }
        user = self.run.finalised_by.get_username() if self.run.finalised_by else "–"
        return _("Slutlig upplaga, skickad till tryckeriet %(time)s av %(user)s") % {
            "time": timezone.localtime(self.run.finalised_at).strftime("%Y-%m-%d %H:%M"),
            "user": user,
        }

    def totals_by(self, dimension: str) -> list[Total]:
        """Lines and copies per segment, organisation kind, municipality or region.

        A line can belong to several segments, so the segment totals may overlap; the other
        dimensions partition the lines and add up to the total.
        """
        buckets: dict[str, list[PrintLine]] = defaultdict(list)
        for line in self.lines:
            if dimension == "segment":
                labels = line.segment_slugs or (
                    (_("(extra)"),) if line.kind == PrintLineKind.EXTRA else (_("(inget)"),)
                )
            elif dimension == "kind":
                labels = (line.organisation_kind_label,)
            elif dimension == "municipality":
                labels = (line.municipality or _("(okänd)"),)
            elif dimension == "region":
                labels = (line.region or _("(okänd)"),)
            else:
                raise ValueError(f"unknown dimension {dimension!r}")
            for label in labels:
                buckets[label].append(line)
        return [
            Total(label, len(lines), sum(line.copies for line in lines))
            for label, lines in sorted(buckets.items(), key=lambda item: item[0].lower())
        ]

    def filtered_to_segments(self, segment_slugs: Iterable[str]) -> PrintList:
        """A frozen run narrowed to recipients in the given segments (extra lines kept)."""
        wanted = set(segment_slugs)
        if not wanted:
            return self

        def keep(line: PrintLine) -> bool:
            return line.kind == PrintLineKind.EXTRA or bool(wanted & set(line.segment_slugs))

        return dataclasses.replace(
            self,
            segment_slugs=tuple(sorted(wanted)),
            lines=[line for line in self.lines if keep(line)],
            to_fix=[line for line in self.to_fix if keep(line)],
        )


def address_problem(*, street: str, postal_code: str, city: str, country: str) -> str:
    """Why an address cannot go on a label, or "" when it can."""
    missing = [
        label
        for label, value in ((_("gatuadress"), street), (_("postort"), city))
        if not value.strip()
    ]
    domestic = country.strip().lower() in SWEDEN_NAMES
    if domestic and not postal_code.strip():
        missing.insert(1, _("postnummer"))
    if missing:
        return _("adress saknar %(fields)s") % {"fields": ", ".join(missing)}
    if domestic:
        try:
            postal_code_normalise(postal_code)
        except ValidationError:
            return _("ogiltigt postnummer: %(value)s") % {"value": postal_code}
    return ""


@dataclasses.dataclass(frozen=True)
class LineChange:
    before: PrintLine
    after: PrintLine

    @property
    def changed_fields(self) -> list[str]:
        return [
            field
            for field in DIFF_FIELDS
            if getattr(self.before, field) != getattr(self.after, field)
        ]


@dataclasses.dataclass(frozen=True)
class PrintDiff:
    added: list[PrintLine]
    removed: list[PrintLine]
    changed: list[LineChange]

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    @property
    def copies_delta(self) -> int:
        return (
            sum(line.copies for line in self.added)
            - sum(line.copies for line in self.removed)
            + sum(change.after.copies - change.before.copies for change in self.changed)
        )


def print_list_diff(*, before: PrintList, after: PrintList) -> PrintDiff:
    """Lines added, removed and changed between two lists, matched by recipient key."""
    old = {line.recipient_key: line for line in [*before.lines, *before.to_fix]}
    new = {line.recipient_key: line for line in [*after.lines, *after.to_fix]}
    changed = [
        LineChange(old[key], new[key])
        for key in old.keys() & new.keys()
        if any(getattr(old[key], field) != getattr(new[key], field) for field in DIFF_FIELDS)
    ]
    return PrintDiff(
        added=sorted((new[key] for key in new.keys() - old.keys()), key=PrintLine.sort_key),
        removed=sorted((old[key] for key in old.keys() - new.keys()), key=PrintLine.sort_key),
        changed=sorted(changed, key=lambda change: change.after.sort_key()),
    )
