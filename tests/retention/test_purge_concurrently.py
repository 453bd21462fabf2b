"""Two purges at once, as two real processes (beat's task and an operator's command): every
issue is sealed once, every row deleted once, and the totals are the rows' counts."""

import datetime as dt
import subprocess
import sys

import pytest
from django.utils import timezone

from newsletter.models import ArticleDailyCount, ArticleEngagementTotal
from tests.commands import ROOT, testdb_env
from tests.factories import article_make, sendable_issue_make, subscriber_make
from worker.models import (
    Delivery,
    DeliveryStatus,
    Dispatch,
    DispatchStatus,
    DispatchTotals,
    IssueReachTotals,
)
from worker.reports import issue_email_reach, issue_report

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ISSUES = 6
READERS = 40


def _old_issues() -> dict:
    long_ago = timezone.now() - dt.timedelta(days=400)
    readers = [subscriber_make(email=f"lasare{n}@example.se") for n in range(READERS)]
    expected = {}
    for number in range(1, ISSUES + 1):
        issue = sendable_issue_make(slug=f"2019-{number}", title=f"Länsnytt 2019:{number}")
        dispatch = Dispatch.objects.create(
            issue=issue, status=DispatchStatus.DONE, started_at=long_ago, finished_at=long_ago
        )
        Delivery.objects.bulk_create(
            Delivery(
                dispatch=dispatch,
                issue=issue,
                subscriber=reader,
                email=reader.email,
                status=DeliveryStatus.FAILED if n % 7 == 0 else DeliveryStatus.SENT,
                sent_at=None if n % 7 == 0 else long_ago,
                finished_at=long_ago,
                bounced_at=long_ago if n % 5 == 0 else None,
            )
            for n, reader in enumerate(readers)
        )
        article = article_make(issue=issue, heading="Bokstart", slug="bokstart")
        for days_ago in range(740, 760):
            ArticleDailyCount.objects.create(
                article=article,
                day=timezone.localdate() - dt.timedelta(days=days_ago),
                kind="click",
                count=3,
            )
        expected[issue.pk] = issue_report(issue=issue).totals
    return expected


def _purge_twice_at_once(env: dict) -> list[subprocess.CompletedProcess]:
    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", "purge_records"],
            cwd=ROOT,
            env={**env, "RETENTION_BATCH_SIZE": "7"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def _assert_consistent(expected: dict) -> None:
    from newsletter.models import Issue

    assert not Delivery.objects.exists()
    assert DispatchTotals.objects.count() == ISSUES
    assert IssueReachTotals.objects.count() == ISSUES
    for issue_id, totals in expected.items():
        issue = Issue.objects.get(pk=issue_id)
        assert issue_report(issue=issue).totals == totals
        assert issue_report(issue=issue).planned == READERS
        assert issue_email_reach(issue=issue).people == READERS - 6  # n % 7 == 0 failed
    assert not ArticleDailyCount.objects.exists()
    assert sorted(ArticleEngagementTotal.objects.values_list("count", flat=True)) == [60] * ISSUES


@pytest.mark.parametrize("lock", ["redis", "none"])
def test_two_purges_at_once_leave_consistent_totals(lock):
    """With Redis the second run finds the lock held; without it (each process its own
    cache) both really run, and the database's row locks keep them apart."""
    expected = _old_issues()
    env = testdb_env()
    if lock == "none":
        env["REDIS_URL"] = ""

    results = _purge_twice_at_once(env)

    for result in results:
        assert result.returncode == 0, result.stderr
    _assert_consistent(expected)
