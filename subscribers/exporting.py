"""CSV export of subscribers for staff: opens cleanly in Swedish Excel, safe to open at all.

Semicolon-separated and UTF-8 with a byte order mark, because that is what Excel with Swedish
regional settings reads without an import wizard. Cells that start like a formula are
prefixed with an apostrophe so a hostile name such as `=HYPERLINK(...)` stays text (OWASP
"CSV injection"). People with protected identity are never exported.
"""

import csv
from collections.abc import Iterable
from typing import TextIO

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from .models import Subscriber

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def formula_escape(value: object) -> object:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe.

    Other values keep their type, so numbers stay numbers in XLSX.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def excel_csv_writer(stream: TextIO):
    """A csv writer for Swedish Excel: byte order mark, semicolons, CRLF.

    No "sep=;" line: it makes Excel ignore the byte order mark and garble å, ä and ö.
    """
    stream.write("\ufeff")
    return csv.writer(stream, delimiter=";", lineterminator="\r\n")


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
