"""Reading import files: CSV (comma or semicolon, UTF-8 with or without BOM) and XLSX.

Yields every non-blank row as trimmed strings with its line number in the file, so reports
can point at the line a person sees in their editor or in Excel. Nothing here knows what the
columns mean; that is the checking step's job.

The file comes from outside, so reading it is bounded by the limits in `limits.py`: its size
is checked before anything else, an XLSX's parts before they are unpacked, and every row as
it is read (rows, columns, and every cell the reader produces, blank or padded ones too).
Over a limit, reading stops at that row with `ImportLimitExceeded`.
"""

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.utils.translation import gettext as _

from .errors import ImportFileError, ImportLimitExceeded
from .limits import ImportLimits

__all__ = ["FileRow", "FileRows", "ImportFileError", "rows_read", "rows_read_all"]

EXCEL_MAX_ROWS = 1_048_576  # the last row a sheet can have


class FileRow(NamedTuple):
    line: int
    cells: list[str]


@dataclass
class ReadTally:
    """The work reading has done so far: every cell the reader produced, padding included."""

    cells: int = 0


@dataclass
class FileRows:
    """A whole file read into memory, within the limits, before any row is checked.

    Iterating gives the rows and then raises the error the file broke off with, if any, so
    the checking step reports the rows read before the break as well as the break itself.
    """

    rows: list[FileRow] = field(default_factory=list)
    broken: ImportFileError | None = None
    tally: ReadTally = field(default_factory=ReadTally)

    def __iter__(self) -> Iterator[FileRow]:
        yield from self.rows
        if self.broken is not None:
            raise self.broken


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


def _csv_values(content: bytes) -> Iterator[tuple[int, Sequence[object]]]:
    text = _csv_text(content)
    end = text.find("\n")
    first_line = text if end < 0 else text[:end]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    # No spreadsheet writes a NUL and PostgreSQL cannot store one; Python's csv stopped
    # refusing them in 3.11, so refuse them here, with the error csv used to give.
    has_nul = "\x00" in text
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    del text  # the StringIO has its own copy; one is enough
    try:
        for values in reader:
            if has_nul and any("\x00" in value for value in values):
                raise csv.Error("line contains NUL")
            yield reader.line_num, values
    except csv.Error as error:
        raise ImportFileError(
            _("ogiltig CSV på rad %(line)d: %(error)s") % {"line": reader.line_num, "error": error}
        ) from error


def _xlsx_error(error: Exception) -> ImportFileError:
    return ImportFileError(
        _("filen går inte att läsa som Excel-arbetsbok: %(error)s") % {"error": error}
    )


def _xlsx_unpacked_check(content: bytes, limits: ImportLimits) -> None:
    """Refuse a decompression bomb before anything is unpacked.

    The sizes in the archive's directory can be forged, but Python's zipfile never yields
    more than the size stated there (beyond it the CRC check fails), so their sum bounds
    what openpyxl can unpack however the archive was made.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, ValueError, EOFError) as error:
        raise _xlsx_error(error) from error
    limits.unpacked_check(size=unpacked)


def _xlsx_values(content: bytes, limits: ImportLimits) -> Iterator[tuple[int, Sequence[object]]]:
    from openpyxl import load_workbook

    _xlsx_unpacked_check(content, limits)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a broken file
        raise _xlsx_error(error) from error
    try:
        sheet = workbook.worksheets[0]
        # The dimension a sheet declares (A1:XFD1048576 in a 5 KB file) would make openpyxl
        # pad every row to its width and yield every row up to its height. Forget it: rows
        # then come as the file has them, each as long as its own last cell.
        sheet.reset_dimensions()
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if line > EXCEL_MAX_ROWS:
                # Only a forged row number gets here, and openpyxl yields every row up to it.
                raise ImportFileError(_("raden %(line)d finns inte i Excel") % {"line": line})
            yield line, values
    except Exception as error:
        # In read-only mode the sheet is parsed while it is read, so a sheet that breaks
        # off half-way fails here, not when the workbook is opened.
        raise _xlsx_error(error) from error
    finally:
        workbook.close()


def _non_empty_count(values: Sequence[object]) -> int:
    # Counted in C: a padded row can be thousands of cells long.
    return len(values) - values.count(None) - values.count("")


def _cells_within(
    values: Sequence[object], *, line: int, limits: ImportLimits, cells_read: int
) -> list[str]:
    """The row's cells as text, or the column limit's error if it has a value beyond it."""
    beyond = values[limits.max_columns :]
    if beyond and _non_empty_count(beyond):
        for column, value in enumerate(beyond, start=limits.max_columns + 1):
            if _cell(value):
                raise limits.columns_exceeded(line=line, column=column, cells_read=cells_read)
    return [_cell(value) for value in values[: limits.max_columns]]


def _rows_limited(
    values: Iterable[tuple[int, Sequence[object]]], limits: ImportLimits, tally: ReadTally
) -> Iterator[FileRow]:
    rows = 0
    for line, row in values:
        # Every row costs work, an empty one too, and a padded one as much as its padding.
        tally.cells += max(len(row), 1)
        if tally.cells > limits.max_cells:
            raise limits.cells_exceeded(line=line, cells_read=tally.cells)
        if not _non_empty_count(row):
            continue  # blank: a row missing from a sheet, an empty line; cheap to pass over
        cells = _cells_within(row, line=line, limits=limits, cells_read=tally.cells)
        # Blank lines and the empty rows Excel leaves behind after deletions still count
        # as lines, but not as rows.
        if not any(cells):
            continue
        rows += 1
        if rows > limits.max_rows + 1:  # the header is not one of the rows
            raise limits.rows_exceeded(line=line, cells_read=tally.cells)
        yield FileRow(line, cells)


def rows_read(
    *,
    content: bytes,
    filename: str,
    limits: ImportLimits | None = None,
    tally: ReadTally | None = None,
) -> Iterator[FileRow]:
    """Every row of the file that has a value, the header included, with its line number."""
    limits = limits or ImportLimits.from_settings()
    limits.size_check(size=len(content))
    values = _xlsx_values(content, limits) if _is_xlsx(content, filename) else _csv_values(content)
    return _rows_limited(values, limits, tally or ReadTally())


def rows_read_all(*, content: bytes, filename: str, limits: ImportLimits | None = None) -> FileRows:
    """The whole file read before any row is checked, so that a file over a limit is refused
    after reading, not after checking every row before the limit. Raises
    ImportLimitExceeded; any other error of the file is kept in `broken`."""
    file = FileRows()
    try:
        for row in rows_read(content=content, filename=filename, limits=limits, tally=file.tally):
            file.rows.append(row)
    except ImportLimitExceeded:
        raise
    except ImportFileError as error:
        file.broken = error
    return file
