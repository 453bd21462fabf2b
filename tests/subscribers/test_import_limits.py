"""Import files cannot exhaust the server: over a limit, one error naming it, nothing written,
and the work done stays bounded (measured in cells read, not in wall time)."""

import pytest

from subscribers.importing import ImportLimitExceeded, subscribers_import
from subscribers.importing.files import rows_read_all
from subscribers.importing.limits import ImportLimits
from subscribers.models import ConsentEvent, Organisation, Subscriber
from tests.subscribers.xlsx import (
    SHEET,
    part_size_understated,
    sheet_xml,
    text_cell,
    workbook_bytes,
    workbook_with_parts,
)

LIMITS = ImportLimits.from_settings()  # the defaults a user gets


def csv_rows(count: int) -> bytes:
    lines = ["e-post;namn", *(f"person{n}@example.se;Person {n}" for n in range(count))]
    return ("\r\n".join(lines) + "\r\n").encode()


def import_watched(content: bytes, filename: str):
    """The import's report, and the stages it reported reaching."""
    stages = []
    report = subscribers_import(
        content=content,
        filename=filename,
        progress=lambda stage, done, total: stages.append(str(stage)),
    )
    return report, stages


def assert_nothing_written() -> None:
    assert not Subscriber.objects.exists()
    assert not Organisation.objects.exists()
    assert not ConsentEvent.objects.exists()


def test_the_defaults_are_the_documented_ones():
    assert LIMITS == ImportLimits(
        max_bytes=10 * 1024 * 1024,
        max_rows=50_000,
        max_columns=50,
        max_unpacked_bytes=100 * 1024 * 1024,
    )


@pytest.mark.django_db
def test_it_reads_only_the_cells_a_sheet_has_not_the_dimension_it_declares():
    rows = [
        b'<row r="1">' + text_cell("A1", "e-post") + text_cell("B1", "namn") + b"</row>",
        b'<row r="2">' + text_cell("A2", "kim@example.se") + text_cell("B2", "Kim") + b"</row>",
        b'<row r="3">' + text_cell("A3", "bo@example.se") + text_cell("B3", "Bo") + b"</row>",
    ]
    content = workbook_with_parts({SHEET: sheet_xml(rows, dimension="A1:XFD1048576")})
    assert len(content) < 10_000  # like the 4.9 KB file that took 14 minutes of CPU

    file = rows_read_all(content=content, filename="lista.xlsx")
    report = subscribers_import(content=content, filename="lista.xlsx")

    assert file.tally.cells == 6
    assert [row.cells for row in file.rows][1:] == [
        ["kim@example.se", "Kim"],
        ["bo@example.se", "Bo"],
    ]
    assert report.ok and report.created == 2, report.lines()


def test_it_passes_over_the_rows_missing_from_a_sheet_without_padding_them():
    # The 14-minute file: rows 1 and 1,048,576 under a declared A1:XFD1048576. openpyxl
    # yielded every row in between, each padded to 16,384 cells: 17 billion cells.
    rows = [
        b'<row r="1">' + text_cell("A1", "e-post") + text_cell("B1", "namn") + b"</row>",
        b'<row r="1048576">' + text_cell("A1048576", "kim@example.se") + b"</row>",
    ]
    content = workbook_with_parts({SHEET: sheet_xml(rows, dimension="A1:XFD1048576")})

    file = rows_read_all(content=content, filename="lista.xlsx")

    assert [row.line for row in file.rows] == [1, 1_048_576]
    assert file.tally.cells == 1_048_576 + 1  # one for each row, the two cells of the header


def test_it_refuses_a_row_number_no_excel_sheet_can_have():
    rows = [
        b'<row r="1">' + text_cell("A1", "e-post") + b"</row>",
        b'<row r="99999999">' + text_cell("A99999999", "kim@example.se") + b"</row>",
    ]
    content = workbook_with_parts({SHEET: sheet_xml(rows)})

    file = rows_read_all(content=content, filename="lista.xlsx")

    assert str(file.broken) == (
        "filen går inte att läsa som Excel-arbetsbok: raden 1048577 finns inte i Excel"
    )
    assert file.tally.cells <= 1_048_576 + 1


@pytest.mark.django_db
def test_it_refuses_a_value_beyond_the_column_limit_before_checking_any_row():
    rows = [
        b'<row r="1">' + text_cell("A1", "e-post") + b"</row>",
        b'<row r="2">' + text_cell("A2", "kim@example.se") + text_cell("XFD2", "x") + b"</row>",
    ]
    content = workbook_with_parts({SHEET: sheet_xml(rows)})

    report, stages = import_watched(content, "lista.xlsx")

    assert [str(error) for error in report.errors] == [
        "line 0: fil: rad 2 har ett värde i kolumn 16384, efter gränsen på 50 kolumner "
        "(IMPORT_MAX_COLUMNS)"
    ]
    assert stages == ["reading"]
    assert_nothing_written()


def test_it_stops_at_the_cell_budget_when_every_row_is_padded_to_the_last_column():
    # Empty cells far to the right (as formatting leaves them) are no value beyond the column
    # limit, but openpyxl pads each such row to 16,384 cells: that work is what is bounded.
    rows = (f'<row r="{n}"><c r="XFD{n}" s="0"/></row>'.encode() for n in range(2, 100_002))
    header = b'<row r="1">' + text_cell("A1", "e-post") + b"</row>"
    content = workbook_with_parts({SHEET: sheet_xml([header, *rows])})

    with pytest.raises(ImportLimitExceeded, match=r"IMPORT_MAX_ROWS × IMPORT_MAX_COLUMNS") as error:
        rows_read_all(content=content, filename="lista.xlsx")

    assert error.value.cells_read <= LIMITS.max_cells + 16_384
    assert error.value.line < 200  # of 100,001 rows


@pytest.mark.django_db
def test_it_refuses_more_rows_than_the_limit_before_checking_any():
    report, stages = import_watched(csv_rows(LIMITS.max_rows + 1), "lista.csv")

    assert [str(error) for error in report.errors] == [
        "line 0: fil: filen har fler än 50000 rader (IMPORT_MAX_ROWS); rad 50002 är för mycket"
    ]
    assert stages == ["reading"]
    assert_nothing_written()


def test_it_reads_a_file_of_exactly_the_row_limit():
    file = rows_read_all(content=csv_rows(LIMITS.max_rows), filename="lista.csv")

    assert len(file.rows) == LIMITS.max_rows + 1  # and the header
    assert file.broken is None


@pytest.mark.django_db
def test_it_refuses_a_file_over_the_byte_limit_without_reading_a_row():
    content = csv_rows(300_000)
    assert len(content) > LIMITS.max_bytes

    with pytest.raises(ImportLimitExceeded) as error:
        rows_read_all(content=content, filename="lista.csv")
    report = subscribers_import(content=content, filename="lista.csv")

    assert error.value.cells_read == 0
    assert len(report.errors) == 1
    assert str(report.errors[0]).startswith("line 0: fil: filen är ")
    assert str(report.errors[0]).endswith(", större än gränsen 10,0\xa0MB (IMPORT_MAX_BYTES)")
    assert_nothing_written()


def test_it_counts_blank_lines_as_work_so_they_cannot_get_around_the_row_limit():
    # Blank lines are not rows (a list may have some), but three million of them are work.
    content = b"e-post;namn\n" + b";\n" * 3_000_000

    with pytest.raises(ImportLimitExceeded, match="IMPORT_MAX_ROWS × IMPORT_MAX_COLUMNS") as error:
        rows_read_all(content=content, filename="lista.csv")

    assert error.value.cells_read <= LIMITS.max_cells + 2


@pytest.mark.django_db
def test_it_accepts_empty_cells_beyond_the_column_limit():
    content = "e-post;namn" + ";" * 80 + "\nkim@example.se;Kim" + ";" * 80 + "\n"

    report = subscribers_import(content=content.encode(), filename="lista.csv")

    assert report.ok and report.created == 1, report.lines()


@pytest.mark.django_db
def test_it_refuses_a_csv_value_one_column_past_the_limit():
    content = "e-post;namn\nkim@example.se;Kim" + ";" * 49 + "x\n"

    report = subscribers_import(content=content.encode(), filename="lista.csv")

    assert [str(error) for error in report.errors] == [
        "line 0: fil: rad 2 har ett värde i kolumn 51, efter gränsen på 50 kolumner "
        "(IMPORT_MAX_COLUMNS)"
    ]


@pytest.mark.django_db
def test_it_refuses_a_workbook_that_unpacks_beyond_the_limit_before_unpacking_it():
    # 101 MB of zeros packs into about 100 KB.
    padding = (b"\x00" * 2**20 for _ in range(101))
    content = workbook_with_parts({"xl/media/padding.bin": padding})
    assert len(content) < 1_000_000

    report, stages = import_watched(content, "lista.xlsx")

    assert [str(error) for error in report.errors] == [
        "line 0: fil: Excel-arbetsboken packas upp till 101,0\xa0MB, mer än gränsen "
        "100,0\xa0MB (IMPORT_MAX_UNPACKED_BYTES)"
    ]
    assert stages == ["reading"]
    assert_nothing_written()


@pytest.mark.django_db
def test_it_refuses_a_workbook_whose_archive_understates_the_size_of_its_sheet():
    content = workbook_bytes(
        [["e-post", "namn"], *([f"person{n}@example.se", f"Person {n}"] for n in range(3000))]
    )
    forged = part_size_understated(content, SHEET, 1000)

    file = rows_read_all(content=forged, filename="lista.xlsx")
    report = subscribers_import(content=forged, filename="lista.xlsx")

    # The archive yields no more than it states: the sheet breaks off and is refused.
    assert str(file.broken).startswith("filen går inte att läsa som Excel-arbetsbok:")
    assert file.tally.cells < 100
    assert not report.ok
    assert_nothing_written()


@pytest.mark.django_db
def test_it_never_expands_entities_declared_in_a_workbook():
    # Five levels of ten make a cell of 300 KB from a 1 KB sheet: too little for expat's own
    # amplification guard (it wakes at 8 MiB), so defusedxml is what refuses the entities.
    entities = "".join(
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 6)
    )
    declaration = f'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY lol0 "lol">{entities}]>'
    body = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<sheetData>"
        '<row r="1"><c r="A1" t="inlineStr"><is><t>e-post</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>&lol5;</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    content = workbook_with_parts({SHEET: [(declaration + body).encode()]})

    file = rows_read_all(content=content, filename="lista.xlsx")
    report = subscribers_import(content=content, filename="lista.xlsx")

    assert file.rows == []
    assert str(file.broken).startswith("filen går inte att läsa som Excel-arbetsbok:")
    assert not report.ok
    assert_nothing_written()
