"""Article pages count their views on the server: one number per article and day, no cookie."""

import pytest

from newsletter.models import ArticleDailyCount, EngagementKind, IssueStatus
from tests.factories import article_make, issue_make, staff_user_make

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
URL = "/arkiv/2018-1/bokstart-nar-fler-familjer/"


@pytest.fixture
def issue():
    issue = issue_make(
        year=2018,
        number=1,
        title="Länsnytt 2018:1",
        slug="2018-1",
        status=IssueStatus.PUBLISHED,
        count_engagement=True,
    )
    article_make(issue=issue, heading="Bokstart når fler familjer")
    return issue


def _views() -> int:
    return sum(
        ArticleDailyCount.objects.filter(kind=EngagementKind.VIEW).values_list("count", flat=True)
    )


def test_it_counts_each_view_of_an_article_page(client, issue):
    for _ in range(3):
        assert client.get(URL, HTTP_USER_AGENT=BROWSER).status_code == 200

    (row,) = ArticleDailyCount.objects.all()
    assert (row.article.slug, row.kind, row.count) == ("bokstart-nar-fler-familjer", "view", 3)


def test_counting_a_view_needs_no_cookie_and_sets_none_of_its_own(client, issue):
    issue.count_engagement = False
    issue.save()
    uncounted = client.get(URL, HTTP_USER_AGENT=BROWSER)
    issue.count_engagement = True
    issue.save()
    client.cookies.clear()

    counted = client.get(URL, HTTP_USER_AGENT=BROWSER)

    assert _views() == 1
    # Whatever the page itself sets (the language switch's CSRF cookie) is the same with
    # counting off and on: the counter adds nothing.
    assert sorted(counted.cookies) == sorted(uncounted.cookies)
    assert "sessionid" not in counted.cookies


def test_it_does_not_count_head_requests_robots_or_prefetches(client, issue):
    client.head(URL, HTTP_USER_AGENT=BROWSER)
    client.get(URL)
    client.get(URL, HTTP_USER_AGENT="Mozilla/5.0 (compatible; bingbot/2.0)")
    client.get(URL, HTTP_USER_AGENT=BROWSER, HTTP_SEC_PURPOSE="prefetch;prerender")

    assert _views() == 0


def test_it_does_not_count_staff_or_drafts_or_issues_that_do_not_count(client, issue):
    client.force_login(staff_user_make(username="redaktor", is_superuser=True))
    client.get(URL, HTTP_USER_AGENT=BROWSER)
    client.logout()
    issue.status = IssueStatus.READY
    issue.save()
    staff_preview = client.get(URL, HTTP_USER_AGENT=BROWSER)
    issue.status = IssueStatus.PUBLISHED
    issue.count_engagement = False
    issue.save()
    client.get(URL, HTTP_USER_AGENT=BROWSER)

    assert staff_preview.status_code == 302  # drafts are for staff only
    assert _views() == 0
