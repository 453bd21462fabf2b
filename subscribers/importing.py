"""Import of mailing lists from CSV or Excel: validate everything, then write everything.

The whole file is read and checked before anything is written, so one bad row means nothing
is written and the report names every bad row. Writing is set-based (existing subscribers,
organisations, segments and suppressions are loaded into dicts up front; new rows are
bulk-created) so a list of ten thousand rows imports in seconds, not minutes.

Rules an operator can rely on (also in README.md):
- An imported subscriber is `active` with legal basis `public_task`: the lists we import are
  the regional library's own distribution lists, kept as part of its statutory task towards
  the county's libraries. The import never changes the status or legal basis of someone who
  already exists.
- Existing subscribers (matched case-insensitively by email) change only with `update=True`;
  empty cells never clear a stored value; segments are only ever added.
- Unsubscribed, bounced or erased subscribers and suppressed addresses are skipped with the
  reason, with or without `update`: only the person can bring them back, by opting in again.
- The address and copies columns belong to the organisation when the row names one, and are
  the person's own print address otherwise.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import (
    FINAL_STATUSES,
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    Language,
    LegalBasis,
    Municipality,
    Organisation,
    OrganisationKind,
    Segment,
    Subscriber,
    SubscriberStatus,
    Suppression,
)
from .validation import email_hash, email_normalise, postal_code_normalise

# Canonical column name -> the headers accepted for it (compared after header_normalise).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-post", "e-postadress", "epost", "e-mail"),
    "name": ("name", "namn"),
    "title": ("title", "titel", "roll"),
    "organisation": ("organisation", "organization"),
    "organisation_kind": ("organisation_kind", "organization_kind", "typ"),
    "municipality": ("municipality", "kommun"),
    "street": ("street", "adress", "gatuadress"),
    "postal_code": ("postal_code", "postnummer"),
    "city": ("city", "postort"),
    "copies": ("copies", "antal_ex", "antal_exemplar"),
    "channels": ("channels", "channel", "kanal", "kanaler"),
    "language": ("language", "språk"),
    "segments": ("segments", "segment"),
}
HEADER_TO_COLUMN = {
    alias: column for column, aliases in COLUMN_ALIASES.items() for alias in aliases
}

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
# Rows per INSERT; Django lowers it further where the database needs (SQLite's variable limit).
BATCH_SIZE = 2000


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong format, not UTF-8, no header)."""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        # A fixed, greppable shape like a compiler's, the same in every language.
        return f"line {self.line}: {self.column}: {self.reason}"


@dataclass(frozen=True)
class SkippedRow:
    line: int
    email: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.email}: {self.reason}"


@dataclass
class ImportReport:
    errors: list[RowError] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    organisations_created: int = 0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run

    def summary(self) -> str:
        return _(
            "skapade: %(created)d, uppdaterade: %(updated)d, oförändrade: %(unchanged)d, "
            "hoppade över: %(skipped)d, nya organisationer: %(organisations)d"
        ) % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": len(self.skipped),
            "organisations": self.organisations_created,
        }

    def lines(self) -> list[str]:
        """The report as text lines, shared by the command and the admin page."""
        if self.errors:
            return [
                _("Importen avbröts: %(count)d fel, ingenting har sparats.")
                % {"count": len(self.errors)},
                *[str(error) for error in self.errors],
            ]
        heading = (
            _("Provkörning: ingenting har sparats.") if self.dry_run else _("Importen är klar.")
        )
        return [heading, self.summary(), *[str(skipped) for skipped in self.skipped]]


# --- Reading ------------------------------------------------------------------------------


def header_normalise(raw: object) -> str:
    return re.sub(r"\s+", "_", str(raw or "").strip().casefold())


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        # Excel stores "3" in a number cell as 3.0.
        value = int(value)
    return str(value).strip()


def _is_xlsx(content: bytes, filename: str) -> bool:
    return filename.lower().endswith((".xlsx", ".xlsm")) or content[:4] == b"PK\x03\x04"


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        # utf-8-sig strips the byte order mark Excel writes, and reads plain UTF-8 too.
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            _(
                "filen är inte UTF-8 (byte %(position)d). Spara den som "
                '"CSV UTF-8" eller som Excel-arbetsbok (.xlsx).'
            )
            % {"position": error.start}
        ) from error
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for values in reader:
        yield reader.line_num, [_cell(value) for value in values]


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a broken file
        raise ImportFileError(
            _("filen går inte att läsa som Excel-arbetsbok: %(error)s") % {"error": error}
        ) from error
    try:
        sheet = workbook.worksheets[0]
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line, [_cell(value) for value in values]
    finally:
        workbook.close()


def rows_read(content: bytes, filename: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) for every row of the file, the header included."""
    return _xlsx_rows(content) if _is_xlsx(content, filename) else _csv_rows(content)


# --- Validating ---------------------------------------------------------------------------


@dataclass
class _Row:
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


class _Validator:
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

    def row(self, line: int, cells: list[str], positions: dict[int, tuple[str, str]]) -> _Row:
        values: dict[str, str] = {}
        headers: dict[str, str] = {}
        for position, (column, raw_header) in positions.items():
            values[column] = cells[position] if position < len(cells) else ""
            headers[column] = raw_header
        extra = [cell for position, cell in enumerate(cells) if position not in positions and cell]
        if extra:
            self.error(line, "-", _("värde utanför kolumnerna: %(value)s") % {"value": extra[0]})
        row = _Row(line=line, email="", values=values, headers=headers)

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


# --- Planning and writing -----------------------------------------------------------------

ORGANISATION_FIELDS = ("kind", "municipality", "street", "postal_code", "city", "print_copies")


def _organisation_wanted(row: _Row) -> dict[str, object]:
    wanted: dict[str, object] = {
        "kind": row.kind,
        "municipality": row.municipality,
        "street": row.values.get("street", ""),
        "postal_code": row.postal_code,
        "city": row.values.get("city", ""),
        "print_copies": row.copies,
    }
    return {key: value for key, value in wanted.items() if value not in ("", None)}


def _subscriber_wanted(row: _Row, organisation: Organisation | None) -> dict[str, object]:
    wanted: dict[str, object] = {
        "name": row.values.get("name", ""),
        "title": row.values.get("title", ""),
        "organisation": organisation,
        "channel": row.channel,
        "language": row.language,
    }
    if organisation is None:
        wanted.update(
            street=row.values.get("street", ""),
            postal_code=row.postal_code,
            city=row.values.get("city", ""),
            print_copies=row.copies,
        )
    return {key: value for key, value in wanted.items() if value not in ("", None)}


def _in_chunks(values: list[str], size: int = 2000) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _rows_update(model, instances: list, attributes: Iterable[str]) -> None:
    """UPDATE the given fields of many rows with one executemany.

    Django's bulk_update builds a CASE expression per field and row, which costs about half a
    millisecond of CPU per row here; psycopg 3 pipelines an executemany instead.
    """
    fields = [model._meta.get_field(attribute) for attribute in attributes]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = (
        f"UPDATE {quote(model._meta.db_table)} SET {assignments} "
        f"WHERE {quote(model._meta.pk.column)} = %s"
    )
    parameters = [
        [
            *[
                field.get_db_prep_save(getattr(instance, field.attname), connection)
                for field in fields
            ],
            instance.pk,
        ]
        for instance in instances
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, parameters)


def subscribers_import(
    *,
    content: bytes,
    filename: str = "",
    segment_slugs: Iterable[str] = (),
    update: bool = False,
    dry_run: bool = False,
    staff_user=None,
) -> ImportReport:
    """Validate the whole file; if it is clean and not a dry run, write it in one transaction."""
    report = ImportReport(dry_run=dry_run)
    validator = _Validator(extra_segment_slugs=segment_slugs)
    rows: list[_Row] = []
    positions: dict[int, tuple[str, str]] | None = None
    first_line_by_email: dict[str, int] = {}
    try:
        for line, cells in rows_read(content, filename):
            if not any(cells):
                continue  # blank lines and rows Excel leaves behind after deletions
            if positions is None:
                positions = validator.header(line, cells)
                continue
            row = validator.row(line, cells, positions)
            if row.email:
                if row.email in first_line_by_email:
                    validator.error(
                        line,
                        row.headers.get("email", "email"),
                        _("%(email)s förekommer redan på rad %(other)d")
                        % {"email": row.email, "other": first_line_by_email[row.email]},
                    )
                else:
                    first_line_by_email[row.email] = line
            rows.append(row)
    except ImportFileError as error:
        validator.error(0, _("fil"), str(error))
    except csv.Error as error:
        validator.error(0, _("fil"), _("ogiltig CSV: %(error)s") % {"error": error})
    if positions is None and not validator.errors:
        validator.error(1, _("fil"), _("filen är tom"))

    organisations = {
        organisation.name.casefold(): organisation
        for organisation in Organisation.objects.select_related("municipality")
    }
    new_organisations: dict[str, Organisation] = {}
    changed_organisations: dict[str, Organisation] = {}
    organisation_lines: dict[str, tuple[int, str, dict[str, object]]] = {}
    for row in rows:
        name = row.values.get("organisation", "")
        if not name:
            continue
        key = name.casefold()
        wanted = _organisation_wanted(row)
        if key in organisation_lines:
            first_line, _spelling, first_wanted = organisation_lines[key]
            for attribute, value in wanted.items():
                if attribute in first_wanted and first_wanted[attribute] != value:
                    validator.error(
                        row.line,
                        row.headers.get("organisation", "organisation"),
                        _("%(name)s har andra uppgifter (%(field)s) än på rad %(other)d")
                        % {"name": name, "field": attribute, "other": first_line},
                    )
                    break
                first_wanted.setdefault(attribute, value)
            continue
        # The first row naming an organisation decides how a new one is spelt.
        organisation_lines[key] = (row.line, name, wanted)
    for key, (_line, name, wanted) in organisation_lines.items():
        existing = organisations.get(key)
        if existing is None:
            organisation = Organisation(name=name, **wanted)
            new_organisations[key] = organisation
            organisations[key] = organisation
        elif update and any(getattr(existing, k) != v for k, v in wanted.items()):
            for attribute, value in wanted.items():
                setattr(existing, attribute, value)
            changed_organisations[key] = existing

    report.errors = sorted(validator.errors, key=lambda error: error.line)
    if report.errors:
        return report

    emails = [row.email for row in rows]
    existing_subscribers: dict[str, Subscriber] = {}
    suppressed: set[str] = set()
    for chunk in _in_chunks(emails):
        for subscriber in (
            Subscriber.objects.filter(email__in=chunk)
            .select_related("organisation")
            .prefetch_related("segments")
        ):
            existing_subscribers[subscriber.email] = subscriber
        suppressed.update(
            Suppression.objects.filter(
                email_hash__in=[email_hash(email) for email in chunk]
            ).values_list("email_hash", flat=True)
        )

    now = timezone.now()
    to_create: list[tuple[Subscriber, _Row]] = []
    to_update: list[tuple[Subscriber, _Row]] = []
    changed_fields: dict[tuple[str, ...], list[Subscriber]] = {}
    for row in rows:
        subscriber = existing_subscribers.get(row.email)
        if email_hash(row.email) in suppressed:
            report.skipped.append(
                SkippedRow(row.line, row.email, _("adressen är spärrad och importeras aldrig"))
            )
            continue
        if subscriber is not None and subscriber.status in FINAL_STATUSES:
            report.skipped.append(
                SkippedRow(
                    row.line,
                    row.email,
                    _("har status %(status)s och återaktiveras inte av en import")
                    % {"status": subscriber.get_status_display()},
                )
            )
            continue
        name = row.values.get("organisation", "")
        organisation = organisations[name.casefold()] if name else None
        wanted = _subscriber_wanted(row, organisation)
        if subscriber is None:
            subscriber = Subscriber(
                email=row.email,
                email_hash=email_hash(row.email),
                status=SubscriberStatus.ACTIVE,
                legal_basis=LegalBasis.PUBLIC_TASK,
                confirmed_at=now,
                **wanted,
            )
            to_create.append((subscriber, row))
            continue
        current_segments = {segment.pk for segment in subscriber.segments.all()}
        changed = tuple(k for k, v in wanted.items() if getattr(subscriber, k) != v)
        differs = bool(changed) or any(
            segment.pk not in current_segments for segment in row.segments
        )
        if not differs:
            report.unchanged += 1
        elif not update:
            report.skipped.append(
                SkippedRow(
                    row.line, row.email, _("finns redan med andra uppgifter (ändra med --update)")
                )
            )
        else:
            for attribute in changed:
                setattr(subscriber, attribute, wanted[attribute])
            to_update.append((subscriber, row))
            changed_fields.setdefault(changed, []).append(subscriber)

    report.created = len(to_create)
    report.updated = len(to_update)
    report.organisations_created = len(new_organisations)
    if dry_run:
        return report

    with transaction.atomic():
        created_organisations = Organisation.objects.bulk_create(
            new_organisations.values(), batch_size=BATCH_SIZE
        )
        for organisation in created_organisations:
            organisations[organisation.name.casefold()] = organisation
        if changed_organisations:
            for organisation in changed_organisations.values():
                organisation.updated_at = now
            Organisation.objects.bulk_update(
                changed_organisations.values(),
                [*ORGANISATION_FIELDS, "updated_at"],
                batch_size=BATCH_SIZE,
            )
        # bulk_create copies the new organisations' primary keys into the subscribers.
        created = Subscriber.objects.bulk_create(
            [subscriber for subscriber, _row in to_create], batch_size=BATCH_SIZE
        )
        for fields, subscribers in changed_fields.items():
            if "organisation" in fields:
                for subscriber in subscribers:
                    # Assigned before the new organisation had a primary key; take it now.
                    subscriber.organisation = subscriber.organisation
            _rows_update(Subscriber, subscribers, fields)
        updated_ids = [subscriber.pk for subscriber, _row in to_update]
        for chunk in _in_chunks(updated_ids):
            Subscriber.objects.filter(pk__in=chunk).update(updated_at=now)
        touched = list(zip(created, [row for _s, row in to_create], strict=True)) + to_update
        Membership = Subscriber.segments.through
        Membership.objects.bulk_create(
            [
                Membership(subscriber_id=subscriber.pk, segment_id=segment.pk)
                for subscriber, row in touched
                for segment in row.segments
            ],
            batch_size=BATCH_SIZE,
            ignore_conflicts=True,
        )
        source_name = Path(filename).name if filename else ""
        ConsentEvent.objects.bulk_create(
            [
                ConsentEvent(
                    subscriber_id=subscriber.pk,
                    action=ConsentAction.IMPORT,
                    source=ConsentSource.IMPORT,
                    staff_user=staff_user,
                    detail={
                        "file": source_name,
                        "line": row.line,
                        "created": index < len(created),
                    },
                )
                for index, (subscriber, row) in enumerate(touched)
            ],
            batch_size=BATCH_SIZE,
        )
    return report
