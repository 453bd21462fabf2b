"""Retention of delivery rows, kept bounce messages and daily engagement counts: the reports
read the same numbers before and after the purge."""

import datetime as dt
import io
import re

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from accounts.roles import EDITORS, role_groups_sync
from audit.models import AuditAction, AuditEntry
from newsletter.engagement import issue_engagement
from newsletter.models import ArticleDailyCount
from tests.factories import article_make, staff_user_make
from tests.reports.scenario import TEN, report_scenario_make
from worker.models import Delivery, Dispatch, DispatchTotals, KeptBounceMessage
from worker.reports import dispatch_report, issue_email_reach, issue_report
from worker.retention import records_purge
from worker.selectors import dispatch_progress

pytestmark = pytest.mark.django_db

# A year and a bit after the scenario's dispatch ended: past RETENTION_DELIVERY_DAYS (365).
LATER = TEN + dt.timedelta(days=400)


@pytest.fixture
def scenario():
    role_groups_sync()
    scenario = report_scenario_make()
    issue = scenario["issue"]
    issue.count_engagement = True
    issue.save()
    article = article_make(issue=issue, heading="Bokstart", slug="bokstart")
    for days_ago, kind, count in [
        (800, "click", 4),
        (790, "click", 3),
        (790, "view", 9),
        (5, "view", 2),
    ]:
        ArticleDailyCount.objects.create(
            article=article, day=LATER.date() - dt.timedelta(days=days_ago), kind=kind, count=count
        )
    return scenario


@pytest.fixture
def editor_client(client):
    client.force_login(staff_user_make(username="redaktor", groups=[EDITORS]))
    return client


def _pages(client, scenario) -> dict[str, bytes]:
    dispatch, issue = scenario["dispatch"], scenario["issue"]
    pages = {
        "issue": client.get(reverse("reports:issue_report", args=[issue.slug])),
        "dispatch": client.get(reverse("reports:dispatch_report", args=[dispatch.pk])),
    }
    for table in ("summa", "tid", "segment", "artiklar"):
        pages[f"issue-{table}"] = client.get(
            reverse("reports:issue_report_csv", args=[issue.slug, table])
        )
    for table in ("summa", "tid", "segment"):
        pages[f"dispatch-{table}"] = client.get(
            reverse("reports:dispatch_report_csv", args=[dispatch.pk, table])
        )
    for name, response in pages.items():
        assert response.status_code == 200, name
    # The page's CSRF token is new on every request; everything else must stay the same.
    return {
        name: re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)
        for name, response in pages.items()
    }


def _numbers(scenario) -> tuple:
    dispatch, issue = scenario["dispatch"], scenario["issue"]
    progress = dispatch_progress(dispatch_id=dispatch.pk).as_json()
    for moving in ("rate_per_second", "rate_seconds", "eta_seconds", "elapsed_seconds"):
        progress.pop(moving)
    return (
        dispatch_report(dispatch=dispatch),
        issue_report(issue=issue),
        issue_email_reach(issue=issue),
        [(row.article.pk, row.clicks, row.views) for row in issue_engagement(issue=issue)],
        progress,
    )


def test_it_shows_identical_reports_before_and_after_the_purge(scenario, editor_client):
    before_pages, before = _pages(editor_client, scenario), _numbers(scenario)

    result = records_purge(now=LATER)

    assert (result.issues, result.dispatches, result.deliveries) == (1, 1, 6)
    assert result.engagement_counts == 3  # the two old days; the recent one stays
    assert not Delivery.objects.filter(issue=scenario["issue"]).exists()
    assert ArticleDailyCount.objects.count() == 1
    assert _numbers(scenario) == before
    assert _pages(editor_client, scenario) == before_pages


def test_it_purges_nothing_twice_and_a_second_run_changes_no_total(scenario):
    records_purge(now=LATER)
    totals = DispatchTotals.objects.get(dispatch=scenario["dispatch"])
    numbers = _numbers(scenario)

    again = records_purge(now=LATER)

    assert again.counts() == dict.fromkeys(again.counts(), 0)
    assert DispatchTotals.objects.count() == 1
    assert DispatchTotals.objects.get(dispatch=scenario["dispatch"]).__dict__.keys() == (
        totals.__dict__.keys()
    )
    assert _numbers(scenario) == numbers


def test_it_leaves_an_unfinished_or_recent_issue_alone(scenario):
    records_purge(now=TEN + dt.timedelta(days=300))
    assert Delivery.objects.filter(issue=scenario["issue"]).count() == 6

    # The issue's other dispatch never finished: that issue is never purged.
    records_purge(now=LATER)
    assert scenario["other_dispatch"].issue.dispatches.get().deliveries_purged_at is None


def test_it_finishes_the_deletion_a_run_left_behind(scenario):
    records_purge(now=LATER, batch_size=4)
    assert not Delivery.objects.exists()

    # A run that died after marking the dispatch purged left rows; the next deletes them.
    dispatch = scenario["dispatch"]
    Delivery.objects.create(dispatch=dispatch, issue=dispatch.issue, email="kvar@example.se")
    assert records_purge(now=LATER).deliveries == 1
    assert dispatch_report(dispatch=dispatch).planned == 6


def test_a_dry_run_counts_and_changes_nothing(scenario):
    KeptBounceMessage.objects.create(
        source="bounce_file", reason="not_a_report", size=3, raw=b"hej", sha256="a" * 64
    )
    KeptBounceMessage.objects.filter().update(received_at=LATER - dt.timedelta(days=100))
    before = AuditEntry.objects.count()
    out = io.StringIO()

    with time_machine.travel(LATER, tick=False):
        call_command("purge_records", "--dry-run", stdout=out)

    assert "6 leveranser (1 utskick av 1 nummer" in out.getvalue()
    assert "skulle gallras" in out.getvalue()
    assert Delivery.objects.count() == 6
    assert KeptBounceMessage.objects.count() == 1
    assert AuditEntry.objects.count() == before
    dry = records_purge(dry_run=True, now=LATER)
    assert (dry.deliveries, dry.bounce_messages, dry.engagement_counts) == (6, 1, 3)


def test_it_deletes_kept_bounce_messages_older_than_their_retention(scenario):
    for n, age in enumerate([91, 10]):
        KeptBounceMessage.objects.create(
            source="bounce_file", reason="not_a_report", size=3, raw=b"hej", sha256=f"{n}" * 64
        )
        KeptBounceMessage.objects.filter(sha256=f"{n}" * 64).update(
            received_at=LATER - dt.timedelta(days=age)
        )

    assert records_purge(now=LATER).bounce_messages == 1
    assert KeptBounceMessage.objects.count() == 1


def test_each_run_leaves_one_audit_entry_with_its_counts(scenario):
    before = AuditEntry.objects.count()

    records_purge(now=LATER)
    records_purge(now=LATER)

    first, second = AuditEntry.objects.order_by("pk")[before:]
    assert first.action == second.action == AuditAction.RETENTION_PURGE
    assert first.detail["deliveries"] == 6 and first.detail["dispatches"] == 1
    assert second.detail["deliveries"] == 0


def test_it_keeps_the_counts_a_purged_dispatch_shows_in_the_admin(scenario, editor_client):
    url = reverse("admin:worker_dispatch_change", args=[scenario["dispatch"].pk])
    before = editor_client.get(url)
    records_purge(now=LATER)
    after = editor_client.get(url)

    assert before.status_code == after.status_code == 200
    progress = dispatch_progress(dispatch=Dispatch.objects.get(pk=scenario["dispatch"].pk))
    assert (progress.sent, progress.failed, progress.finished) == (5, 1, 6)


def test_the_staff_api_shows_the_same_dispatch_numbers_after_the_purge(scenario, client):
    from django.core.cache import cache

    from accounts.api_tokens import api_token_create
    from accounts.roles import ADMINISTRATORS

    cache.clear()
    administrator = staff_user_make(username="admin", groups=[ADMINISTRATORS])
    _, plain = api_token_create(
        user=administrator, name="CMS", scopes=["dispatches:read"], actor=administrator
    )
    url = f"/api/v1/dispatches/{scenario['dispatch'].pk}/"
    moving = ("rate_per_second", "eta_seconds", "elapsed_seconds", "rate_seconds")

    def numbers():
        answer = client.get(url, HTTP_AUTHORIZATION=f"Bearer {plain}")
        assert answer.status_code == 200
        return {k: v for k, v in answer.json().items() if k not in moving}

    before = numbers()
    records_purge(now=LATER)

    assert numbers() == before
    assert before["sent"] == 5
