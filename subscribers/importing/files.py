"""Reading import files: CSV (comma or semicolon, UTF-8 with or without BOM) and XLSX.

Yields every non-blank row as trimmed strings with its line number in the file, so reports
can point at the line a person sees in their editor or in Excel. Nothing here knows what the
columns mean; that is the checking step's job.
"""

import csv
import io
from collections.abc import Iterator
from typing import NamedTuple

from django.utils.translation import gettext as _


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong format, not UTF-8, no header)."""


class FileRow(NamedTuple):
    line: int
    cells: list[str]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        # Excel stores "3" in a number cell as 3.0.
        value = int(value)
    return str(value).strip()


def _is_xlsx(content: bytes, filename: str) -> bool:
    return filename.lower().endswith((".xlsx", ".xlsm")) or content[:4] == b"PK\x03\x04"


def _csv_text(content: bytes) -> str:
    try:
        # utf-8-sig strips the byte order mark Excel writes, and reads plain UTF-8 too.
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            _(
                "filen är inte UTF-8 (byte %(position)d). Spara den som "
                '"CSV UTF-8" eller som Excel-arbetsbok (.xlsx).'
            )
            % {"position": error.start}
        ) from error


def _csv_rows(content: bytes) -> Iterator[FileRow]:
    text = _csv_text(content)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    # No spreadsheet writes a NUL and PostgreSQL cannot store one; Python's csv stopped
    # refusing them in 3.11, so refuse them here, with the error csv used to give.
    has_nul = "\x00" in text
    try:
        for values in reader:
            if has_nul and any("\x00" in value for value in values):
                raise csv.Error("line contains NUL")
            yield FileRow(reader.line_num, [_cell(value) for value in values])
    except csv.Error as error:
        raise ImportFileError(
            _("ogiltig CSV på rad %(line)d: %(error)s") % {"line": reader.line_num, "error": error}
        ) from error


def _xlsx_error(error: Exception) -> ImportFileError:
    return ImportFileError(
        _("filen går inte att läsa som Excel-arbetsbok: %(error)s") % {"error": error}
    )


def _xlsx_rows(content: bytes) -> Iterator[FileRow]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a broken file
        raise _xlsx_error(error) from error
    try:
        sheet = workbook.worksheets[0]
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield FileRow(line, [_cell(value) for value in values])
    except Exception as error:
        # In read-only mode the sheet is parsed while it is read, so a sheet that breaks
        # off half-way fails here, not when the workbook is opened.
        raise _xlsx_error(error) from error
    finally:
        workbook.close()


def rows_read(*, content: bytes, filename: str) -> Iterator[FileRow]:
    """Every row of the file that has a value, the header included, with its line number."""
    rows = _xlsx_rows(content) if _is_xlsx(content, filename) else _csv_rows(content)
    # Blank lines and the empty rows Excel leaves behind after deletions still count as lines.
    return (row for row in rows if any(row.cells))
