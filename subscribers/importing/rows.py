"""Checking an import file's rows: the header, every value of every row, then rules across rows.

Nothing is written here and nothing stops at the first problem: every bad value becomes a
RowError naming the line and the column as the file spells it, so one report lists them all
and the person can fix the file in one go.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ..models import Municipality, OrganisationKind, Segment
from ..selectors import SegmentDirectory, UnknownSegment
from ..validation import email_normalise, postal_code_normalise
from .columns import (
    COLUMN_ALIASES,
    HEADER_TO_COLUMN,
    LANGUAGE_VALUES,
    MAX_COPIES,
    TEXT_LIMITS,
    channel_normalise,
    header_normalise,
    kind_lookup,
)
from .errors import ImportLimitExceeded
from .files import FileRow, ImportFileError
from .report import RowError

# Column position -> (canonical column name, header as written in the file).
Positions = dict[int, tuple[str, str]]
Parsed = TypeVar("Parsed")
# Told how many data rows have been checked so far, every PROGRESS_EVERY rows.
RowsChecked = Callable[[int], None]
PROGRESS_EVERY = 1000


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


@dataclass
class OrganisationWanted:
    """An organisation as the file describes it: the first row naming it decides the spelling
    of a new one, later rows may add fields it left empty but not contradict it."""

    line: int
    name: str
    fields: dict[str, object]


@dataclass
class CheckedRows:
    rows: list[ImportRow]
    organisations: dict[str, OrganisationWanted]  # by case-folded name
    errors: list[RowError]


@dataclass(frozen=True)
class RowLookups:
    """The reference data cells are checked against, loaded once per import, not per row."""

    segments: SegmentDirectory
    municipalities: dict[str, Municipality]
    kinds: dict[str, str]
    extra_segments: list[Segment]

    def kind_parse(self, raw: str) -> str:
        if not raw:
            return ""
        if kind := self.kinds.get(raw.casefold(), ""):
            return kind
        raise ValidationError(
            _("okänd organisationstyp %(value)s (%(known)s)")
            % {"value": raw, "known": ", ".join(OrganisationKind.values)}
        )

    def municipality_parse(self, raw: str) -> Municipality | None:
        if not raw:
            return None
        if municipality := self.municipalities.get(raw.casefold()):
            return municipality
        raise ValidationError(_("okänd kommun %(value)s") % {"value": raw})

    def segments_parse(self, raw: str) -> tuple[list[Segment], list[str]]:
        """The segments given with the import followed by the row's own, and the reason when
        a slug names no segment."""
        segments = list(self.extra_segments)
        try:
            own = self.segments.resolve(raw.split("|"))
        except UnknownSegment as error:
            return segments, [str(error)]
        return segments + [segment for segment in own if segment not in segments], []


def lookups_load(*, extra_segment_slugs: Iterable[str]) -> tuple[RowLookups, list[RowError]]:
    """Reference data for checking rows; an unknown segment given with the import is an error
    on line 0, because it belongs to no line of the file."""
    segments = SegmentDirectory.load()
    municipalities: dict[str, Municipality] = {}
    for municipality in Municipality.objects.all():
        municipalities[municipality.name.casefold()] = municipality
        municipalities[municipality.code] = municipality
    extra_segments: list[Segment] = []
    errors: list[RowError] = []
    try:
        extra_segments = segments.resolve(extra_segment_slugs)
    except UnknownSegment as error:
        errors.append(RowError(0, "--segment", str(error)))
    lookups = RowLookups(
        segments=segments,
        municipalities=municipalities,
        kinds=kind_lookup(),
        extra_segments=extra_segments,
    )
    return lookups, errors


def header_check(*, line: int, cells: list[str]) -> tuple[Positions, list[RowError]]:
    """Which column each position holds; unknown and repeated headers are errors."""
    positions: Positions = {}
    seen: dict[str, str] = {}
    errors: list[RowError] = []
    for position, raw in enumerate(cells):
        if not raw:
            continue
        column = HEADER_TO_COLUMN.get(header_normalise(raw))
        if column is None:
            known = ", ".join(COLUMN_ALIASES)
            errors.append(
                RowError(line, raw, _("okänd kolumn (kända: %(known)s)") % {"known": known})
            )
        elif column in seen:
            errors.append(
                RowError(
                    line, raw, _("kolumnen finns redan som %(other)s") % {"other": seen[column]}
                )
            )
        else:
            seen[column] = raw
            positions[position] = (column, raw)
    if "email" not in seen:
        errors.append(RowError(line, "email", _("kolumnen för e-postadress saknas")))
    return positions, errors


def copies_parse(raw: str) -> int | None:
    if not raw:
        return None
    try:
        copies = int(raw) if raw.isdigit() else 0
    except ValueError:
        # "²" is a digit to str.isdigit() but not to int(), and int() refuses 5000 digits.
        copies = 0
    if 1 <= copies <= MAX_COPIES:
        return copies
    raise ValidationError(
        _("ogiltigt antal exemplar %(value)s: ett heltal 1–%(max)d")
        % {"value": raw, "max": MAX_COPIES}
    )


def channel_parse(raw: str) -> str:
    if not raw:
        return ""
    if channel := channel_normalise(raw):
        return channel
    raise ValidationError(
        _("okänd kanal %(value)s (email, print eller email+print)") % {"value": raw}
    )


def language_parse(raw: str) -> str:
    if not raw:
        return ""
    if language := LANGUAGE_VALUES.get(raw.casefold(), ""):
        return language
    raise ValidationError(_("okänt språk %(value)s (sv eller en)") % {"value": raw})


def _text_length_problems(values: dict[str, str]) -> list[tuple[str, str]]:
    return [
        (column, _("längre än %(limit)d tecken") % {"limit": limit})
        for column, limit in TEXT_LIMITS.items()
        if len(values.get(column, "")) > limit
    ]


def _row_values_parse(row: ImportRow, lookups: RowLookups) -> list[tuple[str, str]]:
    """Fill in the row's parsed values; (column, reason) for each bad one, always in this
    order of checks (not the file's order of columns), so reports read the same every time."""
    problems: list[tuple[str, str]] = []

    def parsed(column: str, parse: Callable[[str], Parsed], empty: Parsed) -> Parsed:
        try:
            return parse(row.values.get(column, ""))
        except ValidationError as error:
            problems.append((column, error.messages[0]))
            return empty

    row.email = parsed("email", email_normalise, "")
    problems += _text_length_problems(row.values)
    row.postal_code = parsed("postal_code", postal_code_normalise, "")
    row.copies = parsed("copies", copies_parse, None)
    row.channel = parsed("channels", channel_parse, "")
    row.language = parsed("language", language_parse, "")
    row.kind = parsed("organisation_kind", lookups.kind_parse, "")
    row.municipality = parsed("municipality", lookups.municipality_parse, None)
    row.segments, segment_reasons = lookups.segments_parse(row.values.get("segments", ""))
    problems += [("segments", reason) for reason in segment_reasons]
    if (row.kind or row.municipality) and not row.values.get("organisation"):
        column = "organisation_kind" if row.kind else "municipality"
        problems.append((column, _("anges bara tillsammans med en organisation")))
    return problems


def row_check(
    *, line: int, cells: list[str], positions: Positions, lookups: RowLookups
) -> tuple[ImportRow, list[RowError]]:
    """One data row parsed into an ImportRow, with an error for every bad value in it."""
    values: dict[str, str] = {}
    headers: dict[str, str] = {}
    for position, (column, header) in positions.items():
        values[column] = cells[position] if position < len(cells) else ""
        headers[column] = header
    row = ImportRow(line=line, email="", values=values, headers=headers)
    errors: list[RowError] = []
    if extra := [cell for position, cell in enumerate(cells) if position not in positions and cell]:
        errors.append(
            RowError(line, "-", _("värde utanför kolumnerna: %(value)s") % {"value": extra[0]})
        )
    errors += [
        RowError(line, headers.get(column, column), reason)
        for column, reason in _row_values_parse(row, lookups)
    ]
    return row, errors


def _file_rows_check(
    *, file_rows: Iterable[FileRow], lookups: RowLookups, checked: RowsChecked | None
) -> tuple[list[ImportRow], bool, list[RowError]]:
    """The first row is the header and every later one is checked against it; also says
    whether there was a header at all."""
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    positions: Positions | None = None
    try:
        for line, cells in file_rows:
            if positions is None:
                positions, header_errors = header_check(line=line, cells=cells)
                errors += header_errors
                continue
            row, row_errors = row_check(
                line=line, cells=cells, positions=positions, lookups=lookups
            )
            rows.append(row)
            errors += row_errors
            if checked is not None and len(rows) % PROGRESS_EVERY == 0:
                checked(len(rows))
    except ImportLimitExceeded:
        # Over a limit the one error is the answer (the service reports it alone).
        raise
    except ImportFileError as error:
        # Rows read before the file broke off are still checked and reported.
        errors.append(RowError(0, _("fil"), str(error)))
    return rows, positions is not None, errors


def emails_duplicate_check(*, rows: list[ImportRow]) -> list[RowError]:
    """An address that is already on an earlier line is an error (addresses are normalised,
    so this holds in any case)."""
    first_line_by_email: dict[str, int] = {}
    errors: list[RowError] = []
    for row in rows:
        if not row.email:
            continue
        first_line = first_line_by_email.setdefault(row.email, row.line)
        if first_line != row.line:
            errors.append(
                RowError(
                    row.line,
                    row.headers.get("email", "email"),
                    _("%(email)s förekommer redan på rad %(other)d")
                    % {"email": row.email, "other": first_line},
                )
            )
    return errors


def _organisation_fields(row: ImportRow) -> dict[str, object]:
    wanted: dict[str, object] = {
        "kind": row.kind,
        "municipality": row.municipality,
        "street": row.values.get("street", ""),
        "postal_code": row.postal_code,
        "city": row.values.get("city", ""),
        "print_copies": row.copies,
    }
    return {key: value for key, value in wanted.items() if value not in ("", None)}


def _organisation_merge(
    *, first: OrganisationWanted, row: ImportRow, name: str, fields: dict[str, object]
) -> RowError | None:
    """Add what a later row says about an organisation to the first row's description; the
    first field that contradicts it is the row's error."""
    for attribute, value in fields.items():
        if attribute in first.fields and first.fields[attribute] != value:
            return RowError(
                row.line,
                row.headers.get("organisation", "organisation"),
                _("%(name)s har andra uppgifter (%(field)s) än på rad %(other)d")
                % {"name": name, "field": attribute, "other": first.line},
            )
        first.fields.setdefault(attribute, value)
    return None


def organisations_check(
    *, rows: list[ImportRow]
) -> tuple[dict[str, OrganisationWanted], list[RowError]]:
    """Each organisation the file names (matched case-insensitively), described once; rows
    that describe the same organisation differently are errors."""
    organisations: dict[str, OrganisationWanted] = {}
    errors: list[RowError] = []
    for row in rows:
        name = row.values.get("organisation", "")
        if not name:
            continue
        key = name.casefold()
        fields = _organisation_fields(row)
        if key not in organisations:
            organisations[key] = OrganisationWanted(line=row.line, name=name, fields=fields)
        elif error := _organisation_merge(
            first=organisations[key], row=row, name=name, fields=fields
        ):
            errors.append(error)
    return organisations, errors


def rows_check(
    *,
    file_rows: Iterable[FileRow],
    segment_slugs: Iterable[str],
    checked: RowsChecked | None = None,
) -> CheckedRows:
    """Check the whole file: every row on its own, then the rules across rows.

    The errors are sorted by line; within a line they keep the order they were found in
    (the row's values in a fixed order of checks, then a duplicate address, then its
    organisation).
    """
    lookups, errors = lookups_load(extra_segment_slugs=segment_slugs)
    rows, header_found, row_errors = _file_rows_check(
        file_rows=file_rows, lookups=lookups, checked=checked
    )
    errors += row_errors
    if not header_found and not errors:
        errors.append(RowError(1, _("fil"), _("filen är tom")))
    errors += emails_duplicate_check(rows=rows)
    organisations, organisation_errors = organisations_check(rows=rows)
    errors += organisation_errors
    return CheckedRows(
        rows=rows,
        organisations=organisations,
        errors=sorted(errors, key=lambda error: error.line),
    )
