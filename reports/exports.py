"""CSV of one report table: an export is a staff action, so each one leaves an audit entry."""

from __future__ import annotations

import io

from django.db import models

from audit.models import AuditAction
from audit.services import audit_record
from lansnytt.excel import excel_csv_writer, formula_escape

from .tables import Table


def report_table_export(*, table: Table, actor, target: models.Model) -> bytes:
    """The table as CSV for Swedish Excel (headings and names formula-escaped)."""
    buffer = io.StringIO()
    writer = excel_csv_writer(buffer)
    writer.writerow([formula_escape(cell) for cell in table.header])
    for row in table.rows:
        writer.writerow([formula_escape(cell) for cell in row])
    audit_record(
        action=AuditAction.REPORT_EXPORT,
        actor=actor,
        target=target,
        detail={"table": table.key, "rows": len(table.rows)},
    )
    return buffer.getvalue().encode("utf-8")
