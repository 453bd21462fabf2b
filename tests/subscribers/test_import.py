"""Importing mailing lists: messy real-world files, all or nothing, never re-activating."""

import io
import zipfile

import pytest
from openpyxl import Workbook

from subscribers.importing import subscribers_import
from subscribers.models import (
    Channel,
    ConsentAction,
    ConsentEvent,
    Language,
    LegalBasis,
    Organisation,
    OrganisationKind,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
)
from tests.factories import organisation_make, segment_make, subscriber_make

pytestmark = pytest.mark.django_db


def run(text: str | bytes, **options):
    content = text.encode("utf-8") if isinstance(text, str) else text
    return subscribers_import(content=content, filename="lista.csv", **options)


def test_it_reads_semicolons_crlf_a_byte_order_mark_and_swedish_headers():
    content = (
        "\ufeffE-post;Namn;Titel;Organisation;Typ;Kommun;Adress;Postnummer;Postort;"
        "Antal_ex;Kanal;Språk;Segment\r\n"
        "Karin.Berg@Example.se;Karin Berg;bibliotekschef;Solna stadsbibliotek;"
        "public_library;Solna;Bibliotekstorget 1;17145;Solna;4;email+print;sv;\r\n"
    )

    report = run(content)

    assert report.ok, report.lines()
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "karin.berg@example.se"
    assert subscriber.name == "Karin Berg"
    assert subscriber.channel == Channel.BOTH
    assert subscriber.organisation.name == "Solna stadsbibliotek"
    assert subscriber.organisation.kind == OrganisationKind.COUNTY_PUBLIC_LIBRARY
    assert subscriber.organisation.municipality.name == "Solna"
    assert subscriber.organisation.postal_code == "171 45"
    assert subscriber.organisation.print_copies == 4


def test_it_reads_commas_lf_english_headers_in_any_case_with_trailing_spaces():
    content = (
        " EMAIL , Name ,Channels , Language\n"
        "  per.holm@example.org  ,  Per Holm  , email , EN \n"
        "\n"
        ",,,\n"
        "lena.nystrom@example.org,Lena Nyström,print,sv\n"
    )

    report = run(content)

    assert report.ok, report.lines()
    assert report.created == 2
    per = Subscriber.objects.get(email="per.holm@example.org")
    assert per.name == "Per Holm"
    assert per.language == Language.ENGLISH
    assert Subscriber.objects.get(email="lena.nystrom@example.org").channel == Channel.PRINT


def test_it_reads_an_excel_workbook():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["e-post", "namn", "postnummer", "antal_ex", "kanal"])
    sheet.append(["ali.hussein@example.se", "Ali Hussein", 11122, 2, "print"])
    sheet.append([None, None, None, None, None])
    sheet.append(["  EVA.HOLM@example.se ", "Eva Holm", "118 20", None, "email"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = subscribers_import(content=buffer.getvalue(), filename="lista.xlsx")

    assert report.ok, report.lines()
    ali = Subscriber.objects.get(email="ali.hussein@example.se")
    assert ali.postal_code == "111 22"
    assert ali.print_copies == 2
    assert Subscriber.objects.filter(email="eva.holm@example.se").exists()


def test_it_reports_every_bad_row_with_line_column_and_reason_and_writes_nothing():
    content = (
        "email;name;postal_code;channels;segments;organisation_kind;organisation\n"
        "ok@example.se;OK;111 22;email;;;\n"
        "inte-en-adress;X;;;;;\n"
        "zip@example.se;Z;01234;;;;\n"
        "kanal@example.se;K;;fax;;;\n"
        "seg@example.se;S;;;finns-inte;;\n"
        "typ@example.se;T;;;;bokhandel;Bokhandeln\n"
        "OK@Example.SE;Dubblett;;;;;\n"
    )

    report = run(content)

    assert not report.ok
    assert [str(error).split(":")[0:2] for error in report.errors] == [
        ["line 3", " email"],
        ["line 4", " postal_code"],
        ["line 5", " channels"],
        ["line 6", " segments"],
        ["line 7", " organisation_kind"],
        ["line 8", " email"],
    ]
    assert "ok@example.se" in str(report.errors[-1]) and "rad 2" in str(report.errors[-1])
    assert "01234" in str(report.errors[1])
    assert Subscriber.objects.count() == 0
    assert Organisation.objects.count() == 0


def test_it_counts_lines_as_the_file_has_them_including_blank_ones():
    report = run("email\r\n\r\nok@example.se\r\n\r\n\r\nnope\r\n")

    assert [str(error).split(":")[0] for error in report.errors] == ["line 6"]


def test_it_refuses_unknown_columns_and_a_missing_email_column():
    report = run("namn;postnumer\nAnna;11122\n")

    assert {str(error) for error in report.errors} >= {
        "line 1: email: kolumnen för e-postadress saknas",
    }
    assert any(str(error).startswith("line 1: postnumer: okänd kolumn") for error in report.errors)


def test_it_refuses_a_file_that_is_not_utf8():
    report = run("email;namn\nasa@example.se;Åsa Öberg\n".encode("cp1252"))

    assert not report.ok
    assert "UTF-8" in str(report.errors[0])


def test_it_refuses_a_broken_excel_file_with_a_clear_reason():
    report = subscribers_import(content=b"PK\x03\x04 not really a workbook", filename="a.xlsx")

    assert len(report.errors) == 1
    assert "Excel" in str(report.errors[0])


def test_it_refuses_an_unknown_segment_given_on_the_command_line():
    report = run("email\nasa@example.se\n", segment_slugs=["saknas"])

    assert [str(error) for error in report.errors] == ["line 0: --segment: okänt segment: saknas"]


def test_it_adds_segments_from_the_file_and_the_options():
    partners = segment_make(slug="partners")
    extra = segment_make(slug="extra")

    report = run("email,segments\nkb@example.org,partners\n", segment_slugs=["extra"])

    assert report.ok, report.lines()
    assert set(Subscriber.objects.get().segments.all()) == {partners, extra}


def test_it_matches_organisations_by_name_in_any_case_and_creates_each_once():
    existing = organisation_make(name="Solna stadsbibliotek")
    content = (
        "email;organisation;organisation_kind;municipality\n"
        "a@example.se;SOLNA STADSBIBLIOTEK;;\n"
        "b@example.se;Nacka bibliotek;public_library;Nacka\n"
        "c@example.se;nacka bibliotek;;\n"
    )

    report = run(content)

    assert report.ok, report.lines()
    assert report.organisations_created == 1
    assert Subscriber.objects.get(email="a@example.se").organisation == existing
    nacka = Organisation.objects.get(name="Nacka bibliotek")
    assert nacka.municipality.name == "Nacka"
    assert Subscriber.objects.get(email="c@example.se").organisation == nacka


def test_it_refuses_conflicting_organisation_details_within_the_file():
    content = (
        "email;organisation;municipality\n"
        "a@example.se;Nacka bibliotek;Nacka\n"
        "b@example.se;Nacka bibliotek;Solna\n"
    )

    report = run(content)

    assert [str(error).split(":")[0] for error in report.errors] == ["line 3"]


def test_it_makes_imported_subscribers_active_under_public_task_and_logs_consent():
    report = run("email\nnew@example.se\n")

    assert report.created == 1
    subscriber = Subscriber.objects.get()
    assert subscriber.status == SubscriberStatus.ACTIVE
    assert subscriber.legal_basis == LegalBasis.PUBLIC_TASK
    event = ConsentEvent.objects.get(subscriber=subscriber)
    assert event.action == ConsentAction.IMPORT
    assert event.detail == {"file": "lista.csv", "line": 2, "created": True}


def test_it_changes_existing_subscribers_only_with_update():
    subscriber_make(email="karin@example.se", name="Karin", channel=Channel.EMAIL)
    content = "email;name;channels\nKARIN@example.se;Karin Berg;print\n"

    without = run(content)
    assert without.ok and without.updated == 0
    assert [skipped.email for skipped in without.skipped] == ["karin@example.se"]
    assert Subscriber.objects.get().name == "Karin"

    with_update = run(content, update=True)
    assert with_update.updated == 1
    subscriber = Subscriber.objects.get()
    assert (subscriber.name, subscriber.channel) == ("Karin Berg", Channel.PRINT)
    assert ConsentEvent.objects.filter(subscriber=subscriber, action="import").count() == 1


def test_it_moves_an_existing_subscriber_to_a_new_organisation_with_update():
    subscriber_make(email="karin@example.se", organisation=organisation_make(name="Gamla"))

    report = run("email;organisation;typ\nkarin@example.se;Nya biblioteket;partner\n", update=True)

    assert report.updated == 1 and report.organisations_created == 1
    organisation = Subscriber.objects.get().organisation
    assert organisation.name == "Nya biblioteket"
    assert organisation.kind == OrganisationKind.PARTNER


def test_it_keeps_stored_values_where_the_file_has_empty_cells():
    subscriber_make(email="karin@example.se", name="Karin Berg", title="bibliotekschef")

    report = run("email;name;title\nkarin@example.se;;\n", update=True)

    assert report.unchanged == 1
    assert Subscriber.objects.get().title == "bibliotekschef"


@pytest.mark.parametrize(
    "status", [SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED, SubscriberStatus.ERASED]
)
def test_it_never_reactivates_a_subscriber_who_left(status):
    subscriber_make(email="left@example.se", status=status)

    report = run("email;name\nleft@example.se;Back Again\n", update=True)

    assert report.ok
    assert report.created == report.updated == 0
    assert len(report.skipped) == 1 and "återaktiveras inte" in report.skipped[0].reason
    assert Subscriber.objects.get().status == status


def test_it_never_imports_a_suppressed_address_even_after_erasure():
    Suppression.objects.create(email="gone@example.se", reason=SuppressionReason.ERASED)
    Suppression.objects.filter(email="gone@example.se").update(email="")

    report = run("email\nGone@Example.se\n")

    assert report.ok
    assert report.created == 0
    assert "spärrad" in report.skipped[0].reason
    assert not Subscriber.objects.exists()


def test_it_leaves_a_pending_subscriber_pending():
    subscriber_make(email="pending@example.se", status=SubscriberStatus.PENDING, name="P")

    run("email;name\npending@example.se;Pending Person\n", update=True)

    subscriber = Subscriber.objects.get()
    assert subscriber.name == "Pending Person"
    assert subscriber.status == SubscriberStatus.PENDING


def test_it_writes_nothing_in_a_dry_run_but_reports_what_it_would_do():
    report = run("email\na@example.se\nb@example.se\n", dry_run=True)

    assert report.ok and report.created == 2
    assert not Subscriber.objects.exists()
    assert "Provkörning" in report.lines()[0]


def test_it_imports_a_thousand_rows_with_a_bounded_number_of_queries(django_assert_max_num_queries):
    segment_make(slug="folkbibliotek")
    lines = ["email;organisation;segments"]
    lines += [f"person{n}@example.se;Bibliotek {n % 20};folkbibliotek" for n in range(1000)]

    with django_assert_max_num_queries(40):
        report = run("\n".join(lines))

    assert report.created == 1000
    assert Subscriber.segments.through.objects.count() == 1000
    assert ConsentEvent.objects.count() == 1000


def test_it_adds_a_segment_to_an_otherwise_unchanged_subscriber_with_update():
    partners = segment_make(slug="partners")
    subscriber_make(email="karin@example.se", name="Karin Berg")

    report = run(
        "email;name\nkarin@example.se;Karin Berg\n", segment_slugs=["partners"], update=True
    )

    assert report.ok and report.updated == 1, report.lines()
    subscriber = Subscriber.objects.get()
    assert list(subscriber.segments.all()) == [partners]
    assert ConsentEvent.objects.filter(subscriber=subscriber, action="import").count() == 1


def test_it_refuses_a_csv_with_a_nul_byte_before_writing_anything():
    report = run(b"email;name\nnul@example.se;Kim\x00Berg\n")

    assert [str(error) for error in report.errors] == [
        "line 0: fil: ogiltig CSV på rad 2: line contains NUL"
    ]
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize("copies", ["²", "1" * 5000])
def test_it_refuses_copies_that_look_like_digits_but_are_no_number_it_can_store(copies):
    report = run(f"email;copies\nkim@example.se;{copies}\n")

    assert len(report.errors) == 1
    assert str(report.errors[0]).startswith("line 2: copies: ogiltigt antal exemplar")


def test_it_refuses_an_excel_workbook_whose_sheet_breaks_off_with_a_clear_reason():
    workbook = Workbook()
    workbook.active.append(["e-post", "namn"])
    for number in range(50):
        workbook.active.append([f"person{number}@example.se", f"Person {number}"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(buffer)
    truncated = io.BytesIO()
    with zipfile.ZipFile(truncated, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            target.writestr(item, data)

    report = subscribers_import(content=truncated.getvalue(), filename="lista.xlsx")

    assert len(report.errors) == 1
    assert str(report.errors[0]).startswith(
        "line 0: fil: filen går inte att läsa som Excel-arbetsbok:"
    )
    assert not Subscriber.objects.exists()
