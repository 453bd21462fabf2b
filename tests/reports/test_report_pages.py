"""The report of a dispatch and of an issue: the numbers, who may see them, the CSV exports."""

import csv
import io

import pytest
from django.urls import reverse

from accounts.roles import DISTRIBUTION_STAFF, EDITORS, role_groups_sync
from audit.models import AuditAction, AuditEntry
from tests.factories import staff_user_make
from tests.reports.scenario import EVIL_SEGMENT, report_scenario_make
from worker.reports import Outcomes, dispatch_report, issue_email_reach, issue_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario():
    role_groups_sync()
    return report_scenario_make()


@pytest.fixture
def editor_client(client):
    client.force_login(staff_user_make(username="redaktor", groups=[EDITORS]))
    return client


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content if response.streaming else [response.content])
    return list(csv.reader(io.StringIO(text.decode("utf-8-sig")), delimiter=";"))


def test_it_counts_what_happened_to_the_deliveries_of_a_dispatch(scenario):
    report = dispatch_report(dispatch=scenario["dispatch"])

    assert report.planned == 6
    assert report.totals == Outcomes(sent=5, failed=1, bounced=1, complained=1, unsubscribed=1)


def test_it_counts_per_hour_in_local_time_when_all_happened_within_two_days(scenario):
    report = dispatch_report(dispatch=scenario["dispatch"])

    assert report.hourly
    assert [(f"{row.start:%H:%M}", row.outcomes) for row in report.periods] == [
        ("09:00", Outcomes(sent=3)),
        ("10:00", Outcomes(sent=2, failed=1, bounced=1, complained=1, unsubscribed=1)),
    ]


def test_it_counts_per_segment(scenario):
    rows = {
        row.segment.slug: row.outcomes
        for row in dispatch_report(dispatch=scenario["dispatch"]).segments
    }

    assert rows == {
        "folkbibliotek": Outcomes(sent=3, failed=1, bounced=1),
        "politik": Outcomes(sent=2, complained=1, unsubscribed=1),
    }


def test_it_counts_an_unsubscribe_against_the_issue_whose_link_was_used(scenario):
    assert issue_report(issue=scenario["issue"]).totals.unsubscribed == 1
    other_issue = scenario["other_dispatch"].issue

    assert issue_report(issue=other_issue).totals.unsubscribed == 1


def test_it_tells_the_reach_by_email_and_print_counting_each_organisation_once(
    editor_client, scenario
):
    reach = issue_email_reach(issue=scenario["issue"])
    assert reach.people == 5
    assert reach.organisation_ids == {scenario["solna"].pk, scenario["nacka"].pk}

    response = editor_client.get("/personal/rapport/2018-1/")

    assert response.status_code == 200
    # Solna and Nacka by email, Sigtuna in print; 2 copies to a reader at home + 3 to Sigtuna.
    assert (
        "Länsnytt 2018:1 nådde 3 organisationer: 5 personer via e-post och 5 exemplar i tryck"
        in response.content.decode()
    )


def test_it_says_the_reach_in_english_for_english_staff(editor_client, scenario):
    editor_client.cookies["django_language"] = "en"

    response = editor_client.get("/personal/rapport/2018-1/", HTTP_ACCEPT_LANGUAGE="en")

    assert (
        "Länsnytt 2018:1 reached 3 organisations: 5 people by email and 5 copies in print"
        in response.content.decode()
    )


def test_it_draws_the_chart_on_the_server_with_a_title_a_description_and_a_table(
    editor_client, scenario
):
    url = reverse("reports:dispatch_report", kwargs={"dispatch_id": scenario["dispatch"].pk})

    page = editor_client.get(url).content.decode()

    assert '<svg xmlns="http://www.w3.org/2000/svg" role="img"' in page
    assert '<title id="utfall-title">' in page and '<desc id="utfall-desc">' in page
    assert 'fill="url(#utfall-hatch)"' in page  # patterns, not only colours
    assert "<script" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert '<table id="tabell-tid">' in page
    # The hostile segment name is text in the page, not markup.
    assert "=HYPERLINK(&quot;http://angripare.example/&quot;" in page


def test_it_sends_anonymous_visitors_to_the_login_page(client, scenario):
    for url in (
        "/personal/rapport/2018-1/",
        f"/personal/rapport/utskick/{scenario['dispatch'].pk}/",
        "/personal/rapport/2018-1/summa.csv",
        "/personal/listvard/",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/?next=")


def test_it_refuses_staff_without_the_report_permissions(client, scenario):
    client.force_login(staff_user_make(username="tryck", groups=[DISTRIBUTION_STAFF]))
    dispatch_id = scenario["dispatch"].pk

    assert client.get("/personal/rapport/2018-1/").status_code == 403
    assert client.get(f"/personal/rapport/utskick/{dispatch_id}/").status_code == 403
    assert client.get("/personal/rapport/2018-1/summa.csv").status_code == 403
    assert client.get(f"/personal/rapport/utskick/{dispatch_id}/tid.csv").status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.REPORT_EXPORT).exists()


def test_it_refuses_a_csv_export_to_staff_who_may_only_read_the_report(client, scenario):
    from django.contrib.auth.models import Permission

    reader = staff_user_make(username="lasare")
    reader.user_permissions.add(Permission.objects.get(codename="view_dispatch"))
    client.force_login(reader)

    assert client.get("/personal/rapport/2018-1/").status_code == 200
    assert "som CSV" not in client.get("/personal/rapport/2018-1/").content.decode()
    assert client.get("/personal/rapport/2018-1/summa.csv").status_code == 403


def test_it_exports_each_table_as_csv_and_records_each_export(editor_client, scenario):
    dispatch = scenario["dispatch"]

    summary = editor_client.get(f"/personal/rapport/utskick/{dispatch.pk}/summa.csv")
    segments = editor_client.get("/personal/rapport/2018-1/segment.csv")
    periods = editor_client.get("/personal/rapport/2018-1/tid.csv")
    articles = editor_client.get("/personal/rapport/2018-1/artiklar.csv")

    assert summary["Content-Disposition"] == (
        f'attachment; filename="lansnytt-utskick-{dispatch.pk}-summa.csv"'
    )
    assert _csv(summary) == [
        ["Utfall", "Antal"],
        ["Planerade mottagare", "6"],
        ["Skickade", "5"],
        ["Misslyckade", "1"],
        ["Studsade", "1"],
        ["Klagomål", "1"],
        ["Avregistrerade", "1"],
    ]
    # A segment name that starts like a formula stays text in Excel.
    assert ["'" + EVIL_SEGMENT, "2", "0", "0", "1", "1"] in _csv(segments)
    assert _csv(periods)[1:] == [
        ["2026-11-24 09:00", "3", "0", "0", "0", "0"],
        ["2026-11-24 10:00", "2", "1", "1", "1", "1"],
    ]
    assert [row[0] for row in _csv(articles)[1:]] == [
        "Meröppet i Sigtuna",
        "Läsfrämjande i Botkyrka",
        "Nya e-böcker för alla",
    ]
    entries = AuditEntry.objects.filter(action=AuditAction.REPORT_EXPORT).order_by("id")
    assert [(entry.actor_label, entry.detail["table"]) for entry in entries] == [
        ("redaktor", "summa"),
        ("redaktor", "segment"),
        ("redaktor", "tid"),
        ("redaktor", "artiklar"),
    ]
    assert entries[0].object_type == "worker.dispatch"
    assert entries[1].object_type == "newsletter.issue"


def test_it_refuses_an_unknown_table_without_an_audit_entry(editor_client, scenario):
    assert editor_client.get("/personal/rapport/2018-1/..%2Fsettings.csv").status_code == 404
    assert editor_client.get("/personal/rapport/2018-1/leveranser.csv").status_code == 404
    dispatch_id = scenario["dispatch"].pk
    # The article table belongs to an issue, not to one dispatch.
    assert (
        editor_client.get(f"/personal/rapport/utskick/{dispatch_id}/artiklar.csv").status_code
        == 404
    )
    assert not AuditEntry.objects.filter(action=AuditAction.REPORT_EXPORT).exists()


def test_it_is_linked_from_the_dispatch_and_the_issue_admin(client, scenario):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("chef", "chef@example.se", "lösen-ord-1")
    client.force_login(admin)
    dispatch = scenario["dispatch"]
    issue = scenario["issue"]

    dispatch_page = client.get(f"/admin/worker/dispatch/{dispatch.pk}/change/")
    issue_page = client.get(f"/admin/newsletter/issue/{issue.pk}/change/")

    assert dispatch_page.status_code == 200, dispatch_page.get("Location")
    assert f'href="/personal/rapport/utskick/{dispatch.pk}/"' in dispatch_page.content.decode()
    assert 'href="/personal/rapport/2018-1/"' in issue_page.content.decode()


def test_it_shows_the_report_of_an_issue_that_was_never_sent(editor_client, scenario):
    from tests.factories import sendable_issue_make

    sendable_issue_make(slug="2019-1", title="Länsnytt 2019:1")

    response = editor_client.get("/personal/rapport/2019-1/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Inget har skickats än." in page
    assert "Numret har inte skickats ut via e-post." in page
