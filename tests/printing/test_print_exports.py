"""The print list exports, parsed back: CSV for Swedish Excel, XLSX and address labels (PDF)."""

import csv
import io
import re
import shutil
import subprocess

import pytest
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from openpyxl import load_workbook
from pypdf import PdfReader

from printing.exports import print_list_csv, print_list_labels_pdf, print_list_xlsx
from printing.models import PrintExtraLine
from printing.runs import print_list_draft
from subscribers.models import (
    PRINT_CHANNELS,
    Organisation,
    Subscriber,
    SubscriberStatus,
)
from tests.print_scenario import EVIL_NAME, TOTAL_COPIES, print_scenario_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario():
    return print_scenario_make()


def copies_in_database() -> int:
    """The expected total, counted straight from the tables, independently of printing.runs."""
    print_people = Q(status=SubscriberStatus.ACTIVE, channel__in=PRINT_CHANNELS) & Q(
        protected_identity=False
    )
    own_address = Subscriber.objects.filter(print_people).exclude(street="", city="")
    valid_own = own_address.exclude(name="Fel Postnummer")
    personal = valid_own.aggregate(n=Coalesce(Sum(Coalesce("print_copies", 1)), 0))["n"]
    organisations = (
        Organisation.objects.filter(
            subscribers__status=SubscriberStatus.ACTIVE,
            subscribers__channel__in=PRINT_CHANNELS,
            subscribers__street="",
        )
        .exclude(postal_code="")
        .distinct()
    )
    organisation_copies = sum(organisation.print_copies for organisation in organisations)
    extra = PrintExtraLine.objects.aggregate(n=Sum("copies"))["n"]
    return personal + organisation_copies + extra


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))


def first_page_png(content: bytes, artefacts_dir, name: str):
    """Render page 1 with pdftoppm and keep it (and the PDF) for a person to look at."""
    pdf_path = artefacts_dir / f"{name}.pdf"
    pdf_path.write_bytes(content)
    prefix = artefacts_dir / f"{name}-render"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf_path), str(prefix)],
        check=True,
    )
    png = artefacts_dir / f"{name}.png"
    shutil.move(sorted(artefacts_dir.glob(f"{name}-render-*.png"))[-1], png)
    return png


def test_it_writes_csv_for_swedish_excel(scenario):
    content = print_list_csv(print_list_draft(issue=scenario["issue"]))

    assert content.startswith(b"\xef\xbb\xbf")
    assert b"sep=" not in content
    assert content.count(b"\r\n") == content.count(b"\n")
    rows = csv_rows(content)
    header, lines = rows[0], rows[1:7]
    assert header[:3] == ["Postnummer", "Postort", "Namn"]
    assert [row[0] for row in lines] == ["111 22", "118 20", "172 41", "412 94", "0150", ""]
    assert rows[7] == []
    assert rows[8][0] == "Totalt"


def test_it_escapes_cells_that_a_spreadsheet_would_run_as_formulas(scenario):
    rows = csv_rows(print_list_csv(print_list_draft(issue=scenario["issue"])))

    organisation = rows[0].index("Organisation")
    street = rows[0].index("Gatuadress/Box")
    assert rows[1][organisation] == "'" + EVIL_NAME
    assert rows[1][street] == "'-Drottninggatan 1"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_its_csv_totals_reconcile_with_the_database(scenario):
    rows = csv_rows(print_list_csv(print_list_draft(issue=scenario["issue"])))

    copies = rows[0].index("Exemplar")
    assert sum(int(row[copies]) for row in rows[1:7]) == copies_in_database() == TOTAL_COPIES
    assert int(rows[8][copies]) == TOTAL_COPIES
    assert "Totalt 23 ex. = 8 ex. till 4 mottagare + 15 ex. på 2 extrarader" in rows[8]


def test_it_never_exports_protected_identities_or_to_fix_lines_as_recipients(scenario):
    print_list = print_list_draft(issue=scenario["issue"])
    text = print_list_csv(print_list).decode("utf-8-sig")
    workbook = load_workbook(io.BytesIO(print_list_xlsx(print_list)))
    cells = " ".join(
        str(cell.value) for sheet in workbook for row in sheet.iter_rows() for cell in row
    )
    pdf_text = " ".join(
        page.extract_text()
        for page in PdfReader(io.BytesIO(print_list_labels_pdf(print_list))).pages
    )

    for exported in (text, cells, pdf_text):
        assert "Skyddad Person" not in exported
        assert "Hemliga vägen" not in exported
        assert "Inaktiv" not in exported
    assert "Utan Adress" not in text


def test_it_writes_xlsx_with_text_postcodes_a_totals_sheet_and_a_to_fix_sheet(scenario):
    workbook = load_workbook(io.BytesIO(print_list_xlsx(print_list_draft(issue=scenario["issue"]))))

    assert workbook.sheetnames == ["Tryckfördelning", "Summering", "Att åtgärda"]
    lines = workbook["Tryckfördelning"]
    assert lines.freeze_panes == "A2"
    assert all(cell.font.bold for cell in lines[1])
    assert lines.auto_filter.ref == "A1:N7"
    assert lines.column_dimensions["A"].width == 11
    # The sixth line (archive copies) has no address; openpyxl reads an empty cell as None.
    postcodes = [lines.cell(row=row, column=1) for row in range(2, 7)]
    assert [cell.value for cell in postcodes] == [
        "111 22",
        "118 20",
        "172 41",
        "412 94",
        "0150",
    ]
    assert all(cell.number_format == "@" and isinstance(cell.value, str) for cell in postcodes)
    assert lines.cell(row=2, column=4).value == "'" + EVIL_NAME
    copies_column = [cell.value for cell in lines[1]].index("Exemplar") + 1
    assert sum(lines.cell(row=row, column=copies_column).value for row in range(2, 8)) == 23
    assert lines.cell(row=9, column=1).value == "Totalt"
    assert lines.cell(row=9, column=copies_column).value == copies_in_database()

    totals = {
        (row[0], row[1]): (row[2], row[3])
        for row in workbook["Summering"].iter_rows(min_row=2, values_only=True)
        if row and row[0]
    }
    assert totals[("Totalt", None)] == (6, TOTAL_COPIES)
    assert totals[("Extrarader", None)] == (2, 15)
    assert totals[("Segment", "folkbibliotek")] == (1, 4)
    assert totals[("Organisationstyp", "Samarbetspartner")] == (1, 2)
    assert totals[("Kommun", "Sundbyberg")] == (1, 4)
    assert totals[("Region", "Region Stockholm")] == (3, 7)

    to_fix = list(workbook["Att åtgärda"].iter_rows(min_row=2, values_only=True))
    assert sorted((row[1] or row[2], row[5]) for row in to_fix) == [
        ("Fel Postnummer", "ogiltigt postnummer: 012 34"),
        ("Trasigt bibliotek", "adress saknar postnummer"),
        ("Utan Adress", "ingen egen adress och ingen organisation"),
    ]


def test_it_prints_labels_in_swedish_address_order_sorted_by_postnummer(scenario, artefacts_dir):
    content = print_list_labels_pdf(print_list_draft(issue=scenario["issue"]))
    reader = PdfReader(io.BytesIO(content))

    page = reader.pages[0]
    assert [round(float(value) / 72 * 25.4) for value in page.mediabox[2:]] == [210, 297]
    text = page.extract_text()
    for name in (
        "Karin Politiker",
        "Sundbybergs bibliotek",
        "Bokmässan i Göteborg",
        "Ola Nordmann",
    ):
        assert name in text
    assert "Arkivexemplar" not in text  # no address, so no label; it is in the totals
    order = [text.index(marker) for marker in ("111 22 Stockholm", "118 20", "172 41", "412 94")]
    assert order == sorted(order)
    karin = text[text.index("Karin Politiker") :]
    assert (
        karin.index("Region Stockholm") < karin.index("Box 123") < karin.index("118 20 Stockholm")
    )
    fair = text[text.index("Bokmässan") :]
    assert (
        fair.index("c/o Svenska Mässan")
        < fair.index("Mässans gata 20")
        < fair.index("412 94 Göteborg")
    )
    assert "0150 Oslo" in text and "NORGE" in text
    assert "Sverige" not in text
    assert "4 ex." in text and "10 ex." in text and "1 ex." not in text
    assert "Totalt 23 ex." in reader.metadata.subject

    png = first_page_png(content, artefacts_dir, "print-labels-page1")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_it_fills_a_label_sheet_with_24_labels_before_starting_the_next(scenario, artefacts_dir):
    from subscribers.models import Channel
    from tests.factories import subscriber_make

    for number in range(30):
        subscriber_make(
            name=f"Läsare {number:02}",
            channel=Channel.PRINT,
            street=f"Gatan {number}",
            postal_code=f"1{number:02}11",
            city="Stockholm",
        )
    content = print_list_labels_pdf(print_list_draft(issue=scenario["issue"]))
    reader = PdfReader(io.BytesIO(content))

    assert len(reader.pages) == 2
    first, second = (page.extract_text() for page in reader.pages)
    # Every Swedish label has exactly one "NNN NN Postort" line; 30 + 5 labels in all.
    postcode_line = re.compile(r"^\d{3} \d{2} \w", re.MULTILINE)
    assert len(postcode_line.findall(first)) == 24
    assert len(postcode_line.findall(second)) == 10 and "0150 Oslo" in second
    # 60 dpi A4 is 497 × 702 px; the image is kept to check the 3 × 8 grid by eye.
    png = first_page_png(content, artefacts_dir, "print-labels-full-sheet")
    assert png.read_bytes()[16:24] == (497).to_bytes(4, "big") + (702).to_bytes(4, "big")
