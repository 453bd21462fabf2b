"""Checking import rows one by one: each bad value becomes a RowError naming line and column."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .import_files import COLUMN_ALIASES, HEADER_TO_COLUMN, header_normalise
from .models import Channel, Language, Municipality, OrganisationKind, Segment
from .validation import email_normalise, postal_code_normalise

CHANNEL_VALUES = {
    "email": Channel.EMAIL,
    "e-post": Channel.EMAIL,
    "epost": Channel.EMAIL,
    "print": Channel.PRINT,
    "tryckt": Channel.PRINT,
    "papper": Channel.PRINT,
    "email+print": Channel.BOTH,
    "print+email": Channel.BOTH,
    "both": Channel.BOTH,
    "e-post+tryckt": Channel.BOTH,
    "båda": Channel.BOTH,
}
LANGUAGE_VALUES = {
    "sv": Language.SWEDISH,
    "svenska": Language.SWEDISH,
    "swedish": Language.SWEDISH,
    "en": Language.ENGLISH,
    "engelska": Language.ENGLISH,
    "english": Language.ENGLISH,
}
MAX_COPIES = 1000
TEXT_LIMITS = {"name": 200, "title": 200, "organisation": 200, "street": 200, "city": 100}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        # A fixed, greppable shape like a compiler's, the same in every language.
        return f"line {self.line}: {self.column}: {self.reason}"


@dataclass
class ImportRow:
    line: int
    email: str
    values: dict[str, str]
    headers: dict[str, str]
    channel: str = ""
    language: str = ""
    copies: int | None = None
    postal_code: str = ""
    kind: str = ""
    municipality: Municipality | None = None
    segments: list[Segment] = field(default_factory=list)


def _kind_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for value, label in OrganisationKind.choices:
        lookup[value] = value
        lookup[str(label).casefold()] = value
    for value, swedish in [
        (OrganisationKind.COUNTY_PUBLIC_LIBRARY, "folkbibliotek"),
        (OrganisationKind.REGIONAL_LIBRARY, "regionbibliotek"),
        (OrganisationKind.REGIONAL_LIBRARY, "länsbibliotek"),
        (OrganisationKind.REGIONAL_POLITICS, "politik"),
        (OrganisationKind.PARTNER, "partner"),
        (OrganisationKind.OTHER, "övrig"),
        (OrganisationKind.OTHER, "övrigt"),
    ]:
        lookup[swedish] = value
    return lookup


class RowValidator:
    def __init__(self, *, extra_segment_slugs: Iterable[str]) -> None:
        self.errors: list[RowError] = []
        self.segments = {segment.slug.casefold(): segment for segment in Segment.objects.all()}
        self.municipalities: dict[str, Municipality] = {}
        for municipality in Municipality.objects.all():
            self.municipalities[municipality.name.casefold()] = municipality
            self.municipalities[municipality.code] = municipality
        self.kinds = _kind_lookup()
        self.extra_segments: list[Segment] = []
        for slug in extra_segment_slugs:
            segment = self.segments.get(slug.strip().casefold())
            if segment is None:
                self.error(0, "--segment", _("okänt segment %(slug)s") % {"slug": slug})
            else:
                self.extra_segments.append(segment)

    def error(self, line: int, column: str, reason: str) -> None:
        self.errors.append(RowError(line, column, reason))

    def header(self, line: int, cells: list[str]) -> dict[int, tuple[str, str]]:
        """Column position -> (canonical name, header as written)."""
        positions: dict[int, tuple[str, str]] = {}
        seen: dict[str, str] = {}
        for position, raw in enumerate(cells):
            if not raw:
                continue
            column = HEADER_TO_COLUMN.get(header_normalise(raw))
            if column is None:
                self.error(
                    line,
                    raw,
                    _("okänd kolumn (kända: %(known)s)") % {"known": ", ".join(COLUMN_ALIASES)},
                )
            elif column in seen:
                self.error(
                    line,
                    raw,
                    _("kolumnen finns redan som %(other)s") % {"other": seen[column]},
                )
            else:
                seen[column] = raw
                positions[position] = (column, raw)
        if "email" not in seen:
            self.error(line, "email", _("kolumnen för e-postadress saknas"))
        return positions

    def row(self, line: int, cells: list[str], positions: dict[int, tuple[str, str]]) -> ImportRow:
        values: dict[str, str] = {}
        headers: dict[str, str] = {}
        for position, (column, raw_header) in positions.items():
            values[column] = cells[position] if position < len(cells) else ""
            headers[column] = raw_header
        extra = [cell for position, cell in enumerate(cells) if position not in positions and cell]
        if extra:
            self.error(line, "-", _("värde utanför kolumnerna: %(value)s") % {"value": extra[0]})
        row = ImportRow(line=line, email="", values=values, headers=headers)

        def bad(column: str, reason: str) -> None:
            self.error(line, headers.get(column, column), reason)

        try:
            row.email = email_normalise(values.get("email", ""))
        except ValidationError as error:
            bad("email", error.messages[0])
        for column, limit in TEXT_LIMITS.items():
            if len(values.get(column, "")) > limit:
                bad(column, _("längre än %(limit)d tecken") % {"limit": limit})
        try:
            row.postal_code = postal_code_normalise(values.get("postal_code", ""))
        except ValidationError as error:
            bad("postal_code", error.messages[0])
        if raw := values.get("copies", ""):
            if raw.isdigit() and 1 <= int(raw) <= MAX_COPIES:
                row.copies = int(raw)
            else:
                bad(
                    "copies",
                    _("ogiltigt antal exemplar %(value)s: ett heltal 1–%(max)d")
                    % {"value": raw, "max": MAX_COPIES},
                )
        if raw := values.get("channels", ""):
            row.channel = CHANNEL_VALUES.get(re.sub(r"\s+", "", raw.casefold()), "")
            if not row.channel:
                bad(
                    "channels",
                    _("okänd kanal %(value)s (email, print eller email+print)") % {"value": raw},
                )
        if raw := values.get("language", ""):
            row.language = LANGUAGE_VALUES.get(raw.casefold(), "")
            if not row.language:
                bad("language", _("okänt språk %(value)s (sv eller en)") % {"value": raw})
        if raw := values.get("organisation_kind", ""):
            row.kind = self.kinds.get(raw.casefold(), "")
            if not row.kind:
                bad(
                    "organisation_kind",
                    _("okänd organisationstyp %(value)s (%(known)s)")
                    % {"value": raw, "known": ", ".join(OrganisationKind.values)},
                )
        if raw := values.get("municipality", ""):
            row.municipality = self.municipalities.get(raw.casefold())
            if row.municipality is None:
                bad("municipality", _("okänd kommun %(value)s") % {"value": raw})
        row.segments = list(self.extra_segments)
        for slug in filter(None, (part.strip() for part in values.get("segments", "").split("|"))):
            segment = self.segments.get(slug.casefold())
            if segment is None:
                bad("segments", _("okänt segment %(slug)s") % {"slug": slug})
            elif segment not in row.segments:
                row.segments.append(segment)
        if (row.kind or row.municipality) and not values.get("organisation"):
            column = "organisation_kind" if row.kind else "municipality"
            bad(column, _("anges bara tillsammans med en organisation"))
        return row
