"""The one way in to an import, for the admin page, the command and the benchmark alike."""

from collections.abc import Iterable

from .applying import import_plan, plan_apply
from .files import rows_read
from .report import ImportReport
from .rows import rows_check


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
    checked = rows_check(
        file_rows=rows_read(content=content, filename=filename), segment_slugs=segment_slugs
    )
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
        plan_apply(plan=plan, filename=filename, staff_user=staff_user)
    return report
