"""Writers for a print list: CSV for Swedish Excel, XLSX, and address labels as PDF.

Every writer takes a PrintList (draft or final) and returns bytes; what goes in the list is
decided in runs.py. Each export states where it came from and the total copies.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from audit.models import AuditAction
from audit.services import audit_record
from lansnytt.excel import excel_csv_writer, formula_escape

from .lists import PrintLine, PrintList

FORMATS = ("csv", "xlsx", "pdf")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
# Characters that make a spreadsheet treat a cell as a formula (OWASP "CSV injection").
TEXT_COLUMNS = ("postal_code",)


def _columns() -> list[tuple[str, str, int]]:
    """(attribute, header, xlsx width) of the line table, in postal order of use."""
    return [
        ("postal_code", _("Postnummer"), 11),
        ("city", _("Postort"), 18),
        ("name", _("Namn"), 28),
        ("organisation", _("Organisation"), 32),
        ("care_of", _("c/o"), 20),
        ("street", _("Gatuadress/Box"), 28),
        ("country", _("Land"), 10),
        ("copies", _("Exemplar"), 10),
        ("kind_label", _("Typ"), 13),
        ("organisation_kind_label", _("Organisationstyp"), 26),
        ("municipality", _("Kommun"), 16),
        ("region", _("Region"), 20),
        ("segments", _("Segment"), 24),
        ("recipient_key", _("Mottagarnyckel"), 14),
    ]


def _value(line: PrintLine, attribute: str):
    if attribute == "segments":
        return ", ".join(line.segment_slugs)
    if attribute == "kind_label":
        return {"organisation": _("Organisation"), "subscriber": _("Prenumerant")}.get(
            line.kind, _("Extra")
        )
    if attribute == "country":
        return "" if line.is_domestic else line.country
    return getattr(line, attribute)


def total_summary(print_list: PrintList) -> str:
    return _(
        "Totalt %(total)d ex. = %(recipient_copies)d ex. till %(recipients)d mottagare"
        " + %(extra_copies)d ex. på %(extras)d extrarader"
    ) % {
        "total": print_list.total_copies,
        "recipient_copies": print_list.recipient_copies,
        "recipients": len(print_list.recipient_lines),
        "extra_copies": print_list.extra_copies,
        "extras": len(print_list.extra_lines),
    }


def address_lines(line: PrintLine) -> list[str]:
    """The label in Swedish address order: name, organisation, c/o, street or Box,
    "NNN NN Postort", and the country only when it is not Sweden."""
    return [text for text in (line.name, line.organisation) if text] + postal_lines(line)


def postal_lines(line: PrintLine) -> list[str]:
    """The part of the address below the addressee: c/o, street, postcode and town, country."""
    lines = []
    if line.care_of:
        care_of = line.care_of
        lines.append(care_of if care_of.lower().startswith("c/o") else f"c/o {care_of}")
    lines.append(line.street)
    lines.append(f"{line.postal_code} {line.city}".strip())
    if not line.is_domestic:
        lines.append(line.country.upper())
    return [text for text in lines if text]


def print_list_csv(print_list: PrintList) -> bytes:
    """Semicolon-separated UTF-8 with BOM and CRLF, the form Swedish Excel opens as is."""
    buffer = io.StringIO()
    writer = excel_csv_writer(buffer)
    columns = _columns()
    writer.writerow([header for _attribute, header, _width in columns])
    for line in print_list.lines:
        writer.writerow(
            [formula_escape(_value(line, attribute)) for attribute, _header, _width in columns]
        )
    # The totals row sits after an empty row so that a mail-merge reading up to the first
    # blank line never takes it for a recipient.
    writer.writerow([])
    copies_column = [attribute for attribute, _h, _w in columns].index("copies")
    total_row = [""] * len(columns)
    total_row[0] = _("Totalt")
    total_row[2] = total_summary(print_list)
    total_row[copies_column] = print_list.total_copies
    writer.writerow([formula_escape(value) for value in total_row])
    return buffer.getvalue().encode("utf-8")


def _sheet_header(sheet, headers: list[str], widths: list[int]) -> None:
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"


def _append_text_row(sheet, values: list) -> None:
    sheet.append([formula_escape(value) for value in values])


def print_list_xlsx(print_list: PrintList) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Tryckfördelning")
    columns = _columns()
    _sheet_header(sheet, [h for _a, h, _w in columns], [w for _a, _h, w in columns])
    text_indexes = [i for i, (a, _h, _w) in enumerate(columns, 1) if a in TEXT_COLUMNS]
    for line in print_list.lines:
        _append_text_row(sheet, [_value(line, attribute) for attribute, _h, _w in columns])
        for index in text_indexes:
            # Postnummer must stay text: "111 22" would otherwise lose its leading form, and
            # a future phone column keeps its leading zero the same way.
            cell = sheet.cell(row=sheet.max_row, column=index)
            cell.value = str(cell.value)
            cell.number_format = "@"
    last_line_row = sheet.max_row
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{last_line_row}"
    sheet.append([])
    copies_column = [a for a, _h, _w in columns].index("copies") + 1
    sheet.append([_("Totalt"), "", total_summary(print_list)])
    sheet.cell(row=sheet.max_row, column=copies_column, value=print_list.total_copies)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)

    totals = workbook.create_sheet(_("Summering"))
    _sheet_header(totals, [_("Indelning"), _("Värde"), _("Rader"), _("Exemplar")], [20, 36, 10, 12])
    totals.append([_("Källa"), print_list.source_description])
    totals.append(
        [_("Mottagarrader"), "", len(print_list.recipient_lines), print_list.recipient_copies]
    )
    totals.append([_("Extrarader"), "", len(print_list.extra_lines), print_list.extra_copies])
    totals.append([_("Totalt"), "", len(print_list.lines), print_list.total_copies])
    for cell in totals[totals.max_row]:
        cell.font = Font(bold=True)
    if print_list.protected_excluded:
        totals.append([_("Skyddad identitet, undantagna"), "", print_list.protected_excluded])
    for dimension, label in _dimension_labels():
        totals.append([])
        for total in print_list.totals_by(dimension):
            _append_text_row(totals, [label, total.label, total.lines, total.copies])
    totals.append([])
    totals.append([_("Segmentsummorna kan överlappa: en rad kan höra till flera segment.")])

    to_fix = workbook.create_sheet(_("Att åtgärda"))
    _sheet_header(
        to_fix,
        [
            _("Mottagarnyckel"),
            _("Namn"),
            _("Organisation"),
            _("Adress"),
            _("Exemplar"),
            _("Problem"),
        ],
        [14, 28, 32, 44, 10, 40],
    )
    for line in print_list.to_fix:
        _append_text_row(
            to_fix,
            [
                line.recipient_key,
                line.name,
                line.organisation,
                ", ".join(postal_lines(line)),
                line.copies,
                line.problem,
            ],
        )
    if print_list.to_fix:
        to_fix.auto_filter.ref = f"A1:F{to_fix.max_row}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _dimension_labels() -> list[tuple[str, str]]:
    return [
        ("segment", _("Segment")),
        ("kind", _("Organisationstyp")),
        ("municipality", _("Kommun")),
        ("region", _("Region")),
    ]


# Label stock: A4 with 3 × 8 labels of 70 × 37 mm (24 per sheet), no gaps; the 1 mm left
# over vertically is split between top and bottom.
LABEL_WIDTH = 70 * mm
LABEL_HEIGHT = 37 * mm
LABEL_COLUMNS = 3
LABEL_ROWS = 8
LABEL_PADDING = 6 * mm
TOP_MARGIN = (A4[1] - LABEL_ROWS * LABEL_HEIGHT) / 2
FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"
FONT_SIZE = 10
LEADING = 12.5


def _fit(text: str, font: str, size: float, width: float) -> str:
    """Shorten text with an ellipsis so it stays inside the label."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def print_list_labels_pdf(print_list: PrintList) -> bytes:
    """Address labels for every line with an address, in postnummer order.

    Lines without an address (archive copies collected in the house) need no label; they
    are in the CSV/XLSX and in the totals in the document's metadata.
    """
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle(_("Adressetiketter – %(issue)s") % {"issue": print_list.issue})
    pdf.setAuthor("Länsnytt")
    pdf.setSubject(f"{print_list.source_description}. {total_summary(print_list)}")
    labelled = [line for line in print_list.lines if line.has_address]
    per_page = LABEL_COLUMNS * LABEL_ROWS
    inner_width = LABEL_WIDTH - 2 * LABEL_PADDING
    for index, line in enumerate(labelled):
        if index and index % per_page == 0:
            pdf.showPage()
        position = index % per_page
        column, row = position % LABEL_COLUMNS, position // LABEL_COLUMNS
        left = column * LABEL_WIDTH
        top = A4[1] - TOP_MARGIN - row * LABEL_HEIGHT
        texts = address_lines(line)
        copies_width = 0.0
        if line.copies > 1:
            copies = _("%(copies)d ex.") % {"copies": line.copies}
            pdf.setFont(FONT_BOLD, FONT_SIZE)
            pdf.drawRightString(left + LABEL_WIDTH - LABEL_PADDING, top - 5 * mm, copies)
            copies_width = stringWidth(copies, FONT_BOLD, FONT_SIZE) + 2 * mm
        # Vertically centred block of lines.
        block = len(texts) * LEADING
        y = top - (LABEL_HEIGHT - block) / 2 - FONT_SIZE
        pdf.setFont(FONT, FONT_SIZE)
        for number, text in enumerate(texts):
            width = inner_width - (copies_width if number == 0 else 0)
            pdf.drawString(left + LABEL_PADDING, y, _fit(text, FONT, FONT_SIZE, width))
            y -= LEADING
    if not labelled:
        pdf.setFont(FONT, FONT_SIZE)
        pdf.drawString(20 * mm, A4[1] - 20 * mm, _("Inga rader med adress."))
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


WRITERS: dict[str, Callable[[PrintList], bytes]] = {
    "csv": print_list_csv,
    "xlsx": print_list_xlsx,
    "pdf": print_list_labels_pdf,
}


def print_list_export(print_list: PrintList, export_format: str, *, actor=None) -> bytes:
    """The list in the format; every export hands out addresses, so each leaves an audit entry
    (the file is built first: a failed export hands out nothing)."""
    if export_format not in WRITERS:
        raise ValueError(f"unknown format {export_format!r}; choose one of {', '.join(FORMATS)}")
    content = WRITERS[export_format](print_list)
    audit_record(
        action=AuditAction.PRINT_EXPORT,
        actor=actor,
        target=print_list.issue,
        detail={
            "format": export_format,
            "rows": len(print_list.lines),
            "copies": print_list.total_copies,
            "final": print_list.is_final,
            "segments": list(print_list.segment_slugs),
        },
    )
    return content


def export_filename(print_list: PrintList, export_format: str) -> str:
    source = "slutlig" if print_list.is_final else "utkast"
    return f"lansnytt-{print_list.issue.slug}-tryck-{source}.{export_format}"
