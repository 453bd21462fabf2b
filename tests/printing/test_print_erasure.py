"""Erasing a print subscriber reaches the frozen lines of final runs and everything made of them."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from accounts.roles import DISTRIBUTION_STAFF, role_groups_sync
from printing.models import PrintRun, PrintRunLine
from printing.runs import print_list_from_run, print_run_finalise
from subscribers.models import ConsentSource
from subscribers.privacy import subscriber_erase
from subscribers.services import RequestOrigin
from tests.factories import staff_user_make
from tests.print_scenario import TOTAL_COPIES, print_scenario_make

pytestmark = pytest.mark.django_db

# What the scenario's politician (her own line, sub:<id>) is known by on paper.
POLITICIAN_TRACES = ("Karin Politiker", "Box 123", "118 20", "Region Stockholm")


@pytest.fixture
def scenario():
    role_groups_sync()
    scenario = print_scenario_make()
    scenario["run"] = print_run_finalise(issue=scenario["issue"], allow_incomplete=True)
    return scenario


def _erase(subscriber) -> None:
    subscriber_erase(subscriber=subscriber, origin=RequestOrigin(), source=ConsentSource.ADMIN)


def _download(client, export_format: str, **query) -> bytes:
    url = reverse(
        "printing:print_run_download",
        kwargs={"issue_slug": "2018-1", "export_format": export_format},
    )
    response = client.get(url, query)
    assert response.status_code == 200
    return response.content


def _text(export_format: str, content: bytes) -> str:
    if export_format == "csv":
        return content.decode("utf-8-sig")
    if export_format == "xlsx":
        workbook = load_workbook(io.BytesIO(content))
        return "\n".join(
            str(value)
            for sheet in workbook.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        )
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_it_clears_the_name_and_address_on_the_erased_persons_frozen_line(scenario):
    politician = scenario["politician"]
    key = f"sub:{politician.pk}"
    before = PrintRunLine.objects.get(recipient_key=key)
    assert before.name == "Karin Politiker"

    _erase(politician)

    line = PrintRunLine.objects.get(recipient_key=key)
    assert (
        line.name,
        line.organisation,
        line.care_of,
        line.street,
        line.postal_code,
        line.city,
    ) == ("", "", "", "", "", "")
    assert line.copies == before.copies
    assert PrintRun.objects.get().total_copies == TOTAL_COPIES
    assert print_list_from_run(scenario["run"]).total_copies == TOTAL_COPIES
    # Everyone else's lines are as they were sent to the printer.
    norwegian = PrintRunLine.objects.get(recipient_key=f"sub:{scenario['norwegian'].pk}")
    assert (norwegian.name, norwegian.city) == ("Ola Nordmann", "Oslo")


def test_it_clears_a_line_that_carried_the_address_for_want_of_a_name(scenario):
    homeless = scenario["homeless"]
    homeless.name = ""
    homeless.street, homeless.postal_code, homeless.city = "Ågatan 3", "184 30", "Åkersberga"
    homeless.save()
    run = print_run_finalise(issue=scenario["issue"], allow_incomplete=True)
    line = run.lines.get(recipient_key=f"sub:{homeless.pk}")
    assert line.name == homeless.email

    _erase(homeless)

    line.refresh_from_db()
    assert homeless.email not in (line.name + line.organisation + line.street)
    assert line.street == "" and line.copies == 1


@pytest.mark.parametrize("export_format", ["csv", "xlsx", "pdf"])
def test_it_leaves_the_erased_person_out_of_every_download_from_the_staff_page(
    client, scenario, export_format
):
    client.force_login(staff_user_make(username="dist", groups=[DISTRIBUTION_STAFF]))
    before = _text(export_format, _download(client, export_format))
    assert "Karin Politiker" in before

    _erase(scenario["politician"])

    for source in ({}, {"kalla": "utkast"}):
        text = _text(export_format, _download(client, export_format, **source))
        for trace in POLITICIAN_TRACES[:3]:
            assert trace not in text, (source, trace)
        assert "Ola Nordmann" in text
    page = client.get(reverse("printing:print_run", kwargs={"issue_slug": "2018-1"}))
    assert "Karin Politiker" not in page.content.decode()


def test_it_keeps_the_final_runs_total_in_the_csv_after_the_erasure(client, scenario):
    client.force_login(staff_user_make(username="dist", groups=[DISTRIBUTION_STAFF]))

    _erase(scenario["politician"])

    text = _text("csv", _download(client, "csv"))
    total_row = text.strip().splitlines()[-1]
    assert f"Totalt {TOTAL_COPIES} ex." in total_row
