"""The one way in to an import, for the admin page, the command and the benchmark alike."""

from collections.abc import Callable, Iterable, Mapping, Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record

from ..models import ImportStage
from .applying import import_plan, plan_apply
from .errors import ImportLimitExceeded
from .files import FileRow, FileRows, rows_read_all
from .limits import ImportLimits
from .report import ImportReport, RowError
from .rows import rows_check

# Told the stage an import has reached, and how many of the file's data rows it has done.
ImportProgress = Callable[[ImportStage, int, int], None]


def _progress_ignored(stage: ImportStage, done: int, total: int) -> None:
    pass


def subscribers_import(
    *,
    content: bytes,
    filename: str = "",
    segment_slugs: Iterable[str] = (),
    update: bool = False,
    dry_run: bool = False,
    staff_user=None,
    progress: ImportProgress = _progress_ignored,
    actor=None,
) -> ImportReport:
    """Validate the whole file; if it is clean and not a dry run, write it in one transaction.

    The file is read whole first, within the limits (`limits.py`), so a file over a limit is
    refused with that one error before any row is checked, and nothing is written.
    A written import leaves one audit entry naming `actor` (default: `staff_user`).
    """
    report = ImportReport(dry_run=dry_run)
    progress(ImportStage.READING, 0, 0)
    try:
        file = rows_read_all(content=content, filename=filename)
    except ImportLimitExceeded as error:
        report.errors = [RowError(0, _("fil"), str(error))]
        return report
    return _rows_import(
        file_rows=file,
        report=report,
        source=filename,
        segment_slugs=segment_slugs,
        update=update,
        staff_user=staff_user,
        progress=progress,
        actor=actor,
    )


def subscribers_import_records(
    *,
    records: Sequence[Mapping[str, str]],
    source: str,
    segment_slugs: Iterable[str] = (),
    update: bool = False,
    dry_run: bool = False,
    staff_user=None,
    actor=None,
) -> ImportReport:
    """The same import for records that arrive as data (the staff API) instead of a file.

    Each record is a row under the file format's column names (README's import table), so
    every rule of the import holds unchanged: validation, suppression, never re-activating an
    unsubscribed or erased person. Record n is reported as line n + 1, as in a file whose
    first line is the header.
    """
    limits = ImportLimits.from_settings()
    if len(records) > limits.max_rows:
        report = ImportReport(dry_run=dry_run)
        reason = _("%(count)d poster, fler än gränsen %(limit)d (IMPORT_MAX_ROWS)") % {
            "count": len(records),
            "limit": limits.max_rows,
        }
        report.errors = [RowError(0, _("fil"), reason)]
        return report
    columns = sorted({column for record in records for column in record})
    rows = [FileRow(1, list(columns))]
    rows += [
        FileRow(number, [str(record.get(column, "") or "") for column in columns])
        for number, record in enumerate(records, start=2)
    ]
    return _rows_import(
        file_rows=FileRows(rows=rows),
        report=ImportReport(dry_run=dry_run),
        source=source,
        segment_slugs=segment_slugs,
        update=update,
        staff_user=staff_user,
        progress=_progress_ignored,
        actor=actor,
    )


def _rows_import(
    *,
    file_rows: FileRows,
    report: ImportReport,
    source: str,
    segment_slugs: Iterable[str],
    update: bool,
    staff_user,
    progress: ImportProgress,
    actor,
) -> ImportReport:
    dry_run = report.dry_run
    filename = source
    file = file_rows
    total = max(len(file.rows) - 1, 0)  # the header is not a row to import
    progress(ImportStage.CHECKING, 0, total)
    checked = rows_check(
        file_rows=file,
        segment_slugs=segment_slugs,
        checked=lambda done: progress(ImportStage.CHECKING, done, total),
    )
    del file  # the checked rows have what is needed; planning needs the memory more
    if checked.errors:
        report.errors = checked.errors
        return report

    plan = import_plan(checked=checked, update=update)
    report.skipped = plan.skipped
    report.unchanged = plan.unchanged
    report.created = len(plan.to_create)
    report.updated = len(plan.to_update)
    report.organisations_created = len(plan.new_organisations)
    if not dry_run:
        progress(ImportStage.WRITING, total, total)
        with transaction.atomic():
            plan_apply(plan=plan, filename=filename, staff_user=staff_user)
            audit_record(
                action=AuditAction.IMPORT,
                actor=actor or staff_user,
                object_type="subscribers.import",
                label=filename[:300],
                detail={
                    "filename": filename,
                    "segments": sorted(segment_slugs),
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "skipped": len(report.skipped),
                    "organisations_created": report.organisations_created,
                },
            )
    return report
