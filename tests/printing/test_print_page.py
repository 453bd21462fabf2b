"""The staff print page: permission, the table and totals, to fix, mark final, diff, downloads."""

import csv
import io

import pytest
from django.urls import reverse

from accounts.roles import DISTRIBUTION_STAFF, EDITORS, role_groups_sync
from printing.models import PrintRun
from tests.factories import staff_user_make
from tests.print_scenario import EVIL_NAME, TOTAL_COPIES, print_scenario_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario():
    role_groups_sync()
    return print_scenario_make()


@pytest.fixture
def distribution_client(client):
    client.force_login(staff_user_make(username="dist", groups=[DISTRIBUTION_STAFF]))
    return client


def page_url(issue) -> str:
    return reverse("printing:print_run", kwargs={"issue_slug": issue.slug})


def test_it_is_at_the_url_the_issue_names(scenario):
    assert page_url(scenario["issue"]) == "/personal/tryck/2018-1/"


def test_it_sends_anonymous_visitors_to_the_login_page(client, scenario):
    response = client.get(page_url(scenario["issue"]))

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/personal/tryck/2018-1/")


def test_it_refuses_staff_without_the_export_permission(client, scenario):
    client.force_login(staff_user_make(username="redaktor", groups=[EDITORS]))
    download = reverse(
        "printing:print_run_download",
        kwargs={"issue_slug": "2018-1", "export_format": "csv"},
    )

    assert client.get(page_url(scenario["issue"])).status_code == 403
    assert client.get(download).status_code == 403
    finalise = reverse("printing:print_run_finalise", kwargs={"issue_slug": "2018-1"})
    assert client.post(finalise, {"allow_incomplete": "1"}).status_code == 403
    assert not PrintRun.objects.exists()


def test_it_shows_distribution_staff_the_lines_totals_and_what_to_fix(
    distribution_client, scenario
):
    response = distribution_client.get(page_url(scenario["issue"]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Totalt 23 ex. = 8 ex. till 4 mottagare + 15 ex. på 2 extrarader" in html
    assert "Sundbybergs bibliotek" in html
    assert "Utan Adress" in html and "ingen egen adress och ingen organisation" in html
    assert "Skyddad Person" not in html
    assert "1 person med skyddad identitet är undantagen" in html
    lines = response.context["draft"].lines
    assert [line.postal_code for line in lines[:4]] == ["111 22", "118 20", "172 41", "412 94"]


def test_it_marks_the_list_final_only_when_the_missing_addresses_are_acknowledged(
    distribution_client, scenario
):
    url = reverse("printing:print_run_finalise", kwargs={"issue_slug": "2018-1"})

    response = distribution_client.post(url, follow=True)
    assert not PrintRun.objects.exists()
    assert "Inte markerad som slutlig" in response.content.decode()

    response = distribution_client.post(url, {"allow_incomplete": "1"}, follow=True)
    run = PrintRun.objects.get()
    assert run.total_copies == TOTAL_COPIES and run.finalised_by.username == "dist"
    assert "Utkastet är detsamma som den slutliga upplagan" in response.content.decode()


def test_it_shows_the_change_since_the_final_run(distribution_client, scenario):
    distribution_client.post(
        reverse("printing:print_run_finalise", kwargs={"issue_slug": "2018-1"}),
        {"allow_incomplete": "1"},
    )
    scenario["sundbyberg"].print_copies = 6
    scenario["sundbyberg"].save()

    response = distribution_client.get(page_url(scenario["issue"]))

    diff = response.context["diff"]
    assert [change.after.recipient_key for change in diff.changed] == [
        f"org:{scenario['sundbyberg'].pk}"
    ]
    assert "Förändring: 2 ex." in response.content.decode()


def test_it_downloads_the_final_run_by_default_and_a_draft_on_request(
    distribution_client, scenario
):
    distribution_client.post(
        reverse("printing:print_run_finalise", kwargs={"issue_slug": "2018-1"}),
        {"allow_incomplete": "1"},
    )
    scenario["evil"].print_copies = 5
    scenario["evil"].save()
    url = reverse(
        "printing:print_run_download", kwargs={"issue_slug": "2018-1", "export_format": "csv"}
    )

    final = distribution_client.get(url)
    draft = distribution_client.get(url, {"kalla": "utkast"})

    assert final["Content-Disposition"] == (
        'attachment; filename="lansnytt-2018-1-tryck-slutlig.csv"'
    )
    assert draft["Content-Disposition"].endswith('tryck-utkast.csv"')

    def evil_copies(response) -> str:
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
        return next(row for row in rows if "'" + EVIL_NAME in row)[rows[0].index("Exemplar")]

    assert evil_copies(final) == "2"
    assert evil_copies(draft) == "5"
    for export_format in ("xlsx", "pdf"):
        response = distribution_client.get(url.replace("/csv/", f"/{export_format}/"))
        assert response.status_code == 200 and len(response.content) > 1000


def test_it_lets_a_superuser_in_without_a_role(client, scenario):
    client.force_login(staff_user_make(username="admin", is_superuser=True))

    assert client.get(page_url(scenario["issue"])).status_code == 200
