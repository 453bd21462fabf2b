"""CSV export of subscribers for staff: opens cleanly in Swedish Excel, safe to open at all.

Semicolon-separated and UTF-8 with a byte order mark, because that is what Excel with Swedish
regional settings reads without an import wizard. The writer and the formula escape are
in `lansnytt.excel`. People with protected identity are never exported.
"""

from collections.abc import Iterable
from typing import TextIO

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

# Re-exported: the writer moved to the project package so the audit trail can use it too.
from audit.models import AuditAction
from audit.services import audit_record
from lansnytt.excel import excel_csv_writer, formula_escape

from .models import Subscriber


def subscribers_exportable(queryset: QuerySet[Subscriber]) -> QuerySet[Subscriber]:
    return (
        queryset.filter(protected_identity=False)
        .select_related("organisation__municipality")
        .prefetch_related("segments")
        .order_by("email")
    )


def _columns() -> list[str]:
    return [
        _("e-postadress"),
        _("namn"),
        _("titel/roll"),
        _("organisation"),
        _("typ"),
        _("kommun"),
        _("gatuadress eller box"),
        _("postnummer"),
        _("postort"),
        _("kanal"),
        _("språk"),
        _("status"),
        _("segment"),
        _("skapad"),
    ]


def _row(subscriber: Subscriber) -> list[object]:
    organisation = subscriber.organisation
    # The print address that applies, by the same rule as the print list.
    address_owner = subscriber.print_line_owner
    return [
        subscriber.email,
        subscriber.name,
        subscriber.title,
        organisation.name if organisation else "",
        organisation.get_kind_display() if organisation else "",
        organisation.municipality.name if organisation and organisation.municipality else "",
        address_owner.street,
        address_owner.postal_code,
        address_owner.city,
        subscriber.get_channel_display(),
        subscriber.get_language_display(),
        subscriber.get_status_display(),
        "|".join(segment.slug for segment in subscriber.segments.all()),
        subscriber.created_at.date().isoformat(),
    ]


def subscribers_csv_write(*, subscribers: Iterable[Subscriber], stream: TextIO) -> int:
    """Write the header and one row per subscriber; return the number of rows written."""
    writer = excel_csv_writer(stream)
    writer.writerow(_columns())
    count = 0
    for subscriber in subscribers:
        if subscriber.protected_identity:
            continue  # also when a caller forgot subscribers_exportable()
        writer.writerow([formula_escape(value) for value in _row(subscriber)])
        count += 1
    return count


@transaction.atomic
def subscribers_csv_export(*, queryset: QuerySet[Subscriber], stream: TextIO, actor=None) -> int:
    """The staff export: the exportable subscribers of the queryset, and one audit entry
    saying who took how many rows."""
    count = subscribers_csv_write(subscribers=subscribers_exportable(queryset), stream=stream)
    audit_record(
        action=AuditAction.SUBSCRIBER_EXPORT,
        actor=actor,
        object_type=Subscriber._meta.label_lower,
        label=_("prenumeranter (CSV)"),
        detail={"rows": count},
    )
    return count
