"""The import's three steps one at a time: reading a file, checking its rows, applying them."""

import io
import zipfile

import pytest
from django.db import DatabaseError
from openpyxl import Workbook

from subscribers.importing import ImportFileError, subscribers_import
from subscribers.importing.files import FileRow, rows_read
from subscribers.importing.rows import rows_check
from subscribers.models import ConsentEvent, Organisation, Subscriber
from tests.factories import segment_make, subscriber_make


def workbook_bytes(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    for cells in rows:
        workbook.active.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def sheet_xml_replace(content: bytes, old: str, new: str) -> bytes:
    """The workbook with one piece of its first sheet's XML replaced, as another program
    (or an attacker) could have written it."""
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert old.encode() in data
                data = data.replace(old.encode(), new.encode())
            target.writestr(item, data)
    return buffer.getvalue()


def test_it_reads_csv_rows_with_their_line_in_the_file_and_skips_blank_ones():
    content = "e-post;namn\r\n\r\nanna@example.se; Anna Berg \r\n;\r\n\r\nbo@example.se;Bo\r\n"

    rows = list(rows_read(content=content.encode(), filename="lista.csv"))

    assert rows == [
        FileRow(1, ["e-post", "namn"]),
        FileRow(3, ["anna@example.se", "Anna Berg"]),
        FileRow(6, ["bo@example.se", "Bo"]),
    ]


def test_it_reads_excel_rows_with_their_row_number_and_whole_numbers_without_decimals():
    content = workbook_bytes(
        [["e-post", "antal_ex"], [None, None], ["anna@example.se", 3], ["bo@example.se", 2.5]]
    )

    rows = list(rows_read(content=content, filename="lista.xlsx"))

    assert rows == [
        FileRow(1, ["e-post", "antal_ex"]),
        FileRow(3, ["anna@example.se", "3"]),
        FileRow(4, ["bo@example.se", "2.5"]),
    ]


def test_it_reads_the_value_excel_computed_for_a_formula_never_the_formula():
    formula = '<c r="B2"><f>HYPERLINK("http://evil.example/","Kim")</f><v></v></c>'
    content = workbook_bytes(
        [
            ["e-post", "namn"],
            ["kim@example.se", '=HYPERLINK("http://evil.example/","Kim")'],
        ]
    )
    # Excel saves a formula together with its last result; openpyxl writes none.
    computed = sheet_xml_replace(
        content,
        formula,
        formula.replace('r="B2">', 'r="B2" t="str">').replace("<v></v>", "<v>Kim Ström</v>"),
    )

    assert list(rows_read(content=content, filename="lista.xlsx"))[1].cells == [
        "kim@example.se",
        "",
    ]
    assert list(rows_read(content=computed, filename="lista.xlsx"))[1].cells == [
        "kim@example.se",
        "Kim Ström",
    ]


def test_it_refuses_a_cell_larger_than_the_csv_field_limit_without_reading_on():
    content = b"email;namn\nanna@example.se;" + b"A" * 200_000 + b"\nbo@example.se;Bo\n"

    with pytest.raises(ImportFileError, match="ogiltig CSV på rad 2"):
        list(rows_read(content=content, filename="lista.csv"))


@pytest.mark.django_db
def test_it_refuses_random_binary_content_with_one_clear_error_and_writes_nothing():
    report = subscribers_import(content=bytes(range(256)) * 64, filename="lista.csv")

    assert [str(error) for error in report.errors] == [
        'line 0: fil: filen är inte UTF-8 (byte 128). Spara den som "CSV UTF-8" eller som '
        "Excel-arbetsbok (.xlsx)."
    ]
    assert not Subscriber.objects.exists()


@pytest.mark.django_db
def test_it_checks_the_rows_read_before_a_file_breaks_off_and_reports_both():
    def file_rows():
        yield FileRow(1, ["email", "kanal"])
        yield FileRow(2, ["inte-en-adress", "fax"])
        yield FileRow(3, ["ok@example.se", "email"])
        raise ImportFileError("ogiltig CSV på rad 4: unexpected end of data")

    checked = rows_check(file_rows=file_rows(), segment_slugs=["saknas"])

    assert [str(error) for error in checked.errors] == [
        "line 0: --segment: okänt segment: saknas",
        "line 0: fil: ogiltig CSV på rad 4: unexpected end of data",
        "line 2: email: ogiltig e-postadress: An email address must have an @-sign.",
        "line 2: kanal: okänd kanal fax (email, print eller email+print)",
    ]


@pytest.mark.django_db
def test_it_lists_a_rows_own_errors_before_its_duplicate_and_organisation_errors():
    file_rows = [
        FileRow(1, ["e-post", "organisation", "kommun", "språk"]),
        FileRow(2, ["anna@example.se", "Nacka bibliotek", "Nacka", ""]),
        FileRow(3, ["ANNA@example.se", "NACKA BIBLIOTEK", "Solna", "klingon"]),
    ]

    checked = rows_check(file_rows=file_rows, segment_slugs=[])

    assert [str(error) for error in checked.errors] == [
        "line 3: språk: okänt språk klingon (sv eller en)",
        "line 3: e-post: anna@example.se förekommer redan på rad 2",
        "line 3: organisation: NACKA BIBLIOTEK har andra uppgifter (municipality) än på rad 2",
    ]


@pytest.mark.django_db
def test_it_describes_an_organisation_by_its_first_row_and_what_later_rows_add():
    file_rows = [
        FileRow(1, ["e-post", "organisation", "kommun", "adress"]),
        FileRow(2, ["anna@example.se", "Nacka bibliotek", "Nacka", ""]),
        FileRow(3, ["bo@example.se", "NACKA BIBLIOTEK", "", "Box 12"]),
    ]

    checked = rows_check(file_rows=file_rows, segment_slugs=[])

    assert checked.errors == []
    organisation = checked.organisations["nacka bibliotek"]
    assert (organisation.line, organisation.name) == (2, "Nacka bibliotek")
    assert organisation.fields["municipality"].name == "Nacka"
    assert organisation.fields["street"] == "Box 12"


@pytest.mark.django_db
def test_it_leaves_nothing_behind_when_the_last_write_of_an_import_fails(monkeypatch):
    segment_make(slug="partners")
    subscriber_make(email="karin@example.se", name="Karin")
    content = (
        b"e-post;namn;organisation;segment\n"
        b"karin@example.se;Karin Berg;Nacka bibliotek;partners\n"
        b"bo@example.se;Bo Ek;Nacka bibliotek;partners\n"
    )

    def failing_bulk_create(*args, **kwargs):
        # The consent events are written last, after every other table has its rows.
        assert Subscriber.objects.filter(email="bo@example.se").exists()
        raise DatabaseError("the server went away")

    monkeypatch.setattr(ConsentEvent.objects, "bulk_create", failing_bulk_create)

    with pytest.raises(DatabaseError):
        subscribers_import(content=content, filename="lista.csv", update=True)

    karin = Subscriber.objects.get()
    assert (karin.email, karin.name, karin.organisation) == ("karin@example.se", "Karin", None)
    assert not karin.segments.exists()
    assert not Organisation.objects.exists()
    assert not ConsentEvent.objects.exists()
