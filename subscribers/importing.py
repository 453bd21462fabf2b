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

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .import_files import ImportFileError, rows_read
from .import_rows import ImportRow, RowError, RowValidator
from .models import (
    FINAL_STATUSES,
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    LegalBasis,
    Organisation,
    Subscriber,
    SubscriberStatus,
    Suppression,
)
from .validation import email_hash

# Rows per INSERT; Django lowers it further where the database needs (SQLite's variable limit).
BATCH_SIZE = 2000


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


ORGANISATION_FIELDS = ("kind", "municipality", "street", "postal_code", "city", "print_copies")


def _organisation_wanted(row: ImportRow) -> dict[str, object]:
    wanted: dict[str, object] = {
        "kind": row.kind,
        "municipality": row.municipality,
        "street": row.values.get("street", ""),
        "postal_code": row.postal_code,
        "city": row.values.get("city", ""),
        "print_copies": row.copies,
    }
    return {key: value for key, value in wanted.items() if value not in ("", None)}


def _subscriber_wanted(row: ImportRow, organisation: Organisation | None) -> dict[str, object]:
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
    validator = RowValidator(extra_segment_slugs=segment_slugs)
    rows: list[ImportRow] = []
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
    to_create: list[tuple[Subscriber, ImportRow]] = []
    to_update: list[tuple[Subscriber, ImportRow]] = []
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
