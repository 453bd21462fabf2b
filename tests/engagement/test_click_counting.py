"""Clicks on article links, counted per article through a signed redirect, off by default,
with nothing stored that tells readers apart."""

import re

import pytest
from django.core import signing
from django.db import connection

from newsletter import personalisation, rendering
from newsletter.engagement import issue_engagement, tracked_link_make
from newsletter.models import ArticleDailyCount, EngagementKind, IssueStatus
from newsletter.rendering import issue_render
from subscribers.models import ConsentEvent
from tests.factories import article_make, issue_make

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
TRACKED = re.compile(r'href="(https?://[^"]+/lank/[^"]+/)"')


@pytest.fixture
def issue():
    rendering._memo.clear()
    issue = issue_make(
        year=2018, number=1, title="Länsnytt 2018:1", slug="2018-1", status=IssueStatus.PUBLISHED
    )
    article_make(issue=issue, heading="Bokstart når fler familjer")
    article_make(issue=issue, heading="Kommer boken?", cta_label="Läs rapporten",
                 cta_url="https://example.org/rapport")  # fmt: skip
    return issue


def _counting(issue):
    issue.count_engagement = True
    issue.save()
    return issue


def _clicks() -> dict[str, int]:
    return {
        row.article.slug: row.count
        for row in ArticleDailyCount.objects.filter(kind=EngagementKind.CLICK)
    }


def test_it_is_off_by_default_and_the_email_links_go_straight_to_the_articles(issue):
    rendered = issue_render(issue=issue)

    assert issue.count_engagement is False
    assert "/lank/" not in rendered.html and "/lank/" not in rendered.text
    assert 'href="http://localhost:8000/arkiv/2018-1/bokstart-nar-fler-familjer/"' in rendered.html
    assert "räknas" not in rendered.text


def test_turning_it_on_renders_the_email_again_with_counted_links_and_says_so(issue):
    before = issue_render(issue=issue)

    after = issue_render(issue=_counting(issue))

    assert after.version != before.version  # the cached rendering is not reused
    # Both "Läs mer" links, the image-less articles' headings are not links, and the CTA.
    assert len(set(TRACKED.findall(after.html))) == 3
    assert "arkiv/2018-1/bokstart-nar-fler-familjer" not in after.html
    assert "https://example.org/rapport" not in after.html
    assert after.text.count("/lank/") == 3
    assert "Klicken på artikellänkarna i det här brevet räknas per artikel." in after.html
    assert "Vi sparar inte vem som klickar." in after.text
    english = issue_render(issue=issue, language="en")
    assert "Clicks on the article links in this email are counted per article." in english.html
    # The browser version, the archive and the personal links are never counted.
    assert "/arkiv/2018-1/" in after.html.split("Visa i webbläsaren")[0]
    assert f'href="{personalisation.UNSUBSCRIBE_URL}"' in after.html


def test_a_click_goes_to_the_article_and_is_counted_for_that_article(client, issue):
    _counting(issue)
    html = issue_render(issue=issue).html
    first_link = TRACKED.findall(html)[0]

    one = client.get(first_link, HTTP_USER_AGENT=BROWSER)
    two = client.get(first_link, HTTP_USER_AGENT=BROWSER)

    assert one.status_code == 302
    assert one["Location"] == "http://localhost:8000/arkiv/2018-1/bokstart-nar-fler-familjer/"
    assert two["Location"] == one["Location"]
    assert _clicks() == {"bokstart-nar-fler-familjer": 2}
    assert [(row.article.slug, row.clicks) for row in issue_engagement(issue=issue)] == [
        ("bokstart-nar-fler-familjer", 2),
        ("kommer-boken", 0),
    ]


def test_the_redirect_sets_no_cookie_and_stores_nothing_about_the_reader(client, issue):
    _counting(issue)
    article = issue.articles.first()
    events_before = ConsentEvent.objects.count()

    response = client.get(
        tracked_link_make(article_id=article.pk, url="https://example.org/rapport"),
        HTTP_USER_AGENT=BROWSER,
        REMOTE_ADDR="198.51.100.7",
    )

    assert response.status_code == 302
    assert response.cookies == {}
    assert "no-store" in response["Cache-Control"]
    with connection.cursor() as cursor:
        columns = [
            column.name
            for column in connection.introspection.get_table_description(
                cursor, ArticleDailyCount._meta.db_table
            )
        ]
    # A number per article, day and kind: no subscriber, address, IP, agent or cookie column.
    assert sorted(columns) == ["article_id", "count", "day", "id", "kind"]
    (row,) = ArticleDailyCount.objects.values("article_id", "kind", "count")
    assert row == {"article_id": article.pk, "kind": "click", "count": 1}
    assert ConsentEvent.objects.count() == events_before


def test_every_reader_gets_the_same_link_so_a_click_cannot_name_anyone(issue):
    _counting(issue)
    html = issue_render(issue=issue).html

    links = TRACKED.findall(html)
    # The rendering is shared by every recipient and the links carry no personal slot, so
    # every reader's message has the very same counted links.
    placeholders = personalisation.PLACEHOLDER.pattern
    assert links and not any(re.search(placeholders, link) for link in links)


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no user agent at all
        {"HTTP_USER_AGENT": "Mozilla/5.0 (compatible; Googlebot/2.1)"},
        {"HTTP_USER_AGENT": "python-requests/2.32"},
        {"HTTP_USER_AGENT": BROWSER, "HTTP_SEC_PURPOSE": "prefetch"},
        {"HTTP_USER_AGENT": BROWSER, "HTTP_PURPOSE": "prefetch"},
    ],
)
def test_robots_and_prefetches_are_redirected_but_not_counted(client, issue, headers):
    _counting(issue)
    link = TRACKED.findall(issue_render(issue=issue).html)[0]

    response = client.get(link, **headers)

    assert response.status_code == 302
    assert _clicks() == {}


def test_a_head_request_from_a_link_scanner_is_not_counted(client, issue):
    _counting(issue)
    link = TRACKED.findall(issue_render(issue=issue).html)[0]

    response = client.head(link, HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 302
    assert _clicks() == {}


def test_it_refuses_a_link_whose_target_was_changed(client, issue):
    _counting(issue)
    link = TRACKED.findall(issue_render(issue=issue).html)[0]
    token = link.rstrip("/").rsplit("/", 1)[1]
    value, _, signature = token.rpartition(":")
    # The same article, another target, re-encoded with the old signature.
    forged_value = signing.b64_encode(b'{"a":1,"u":"https://angripare.example/"}').decode()

    for forged in (
        f"{forged_value}:{signature}",
        value[:-2] + "xx:" + signature,
        token + "a",
    ):
        response = client.get(f"/lank/{forged}/", HTTP_USER_AGENT=BROWSER)
        assert response.status_code == 404
        assert "Location" not in response
    assert _clicks() == {}


def test_it_refuses_a_token_signed_for_another_purpose(client, issue):
    _counting(issue)
    other = signing.Signer(salt="lansnytt.subscribers.unsubscribe").sign_object(
        {"a": issue.articles.first().pk, "u": "https://angripare.example/"}, compress=True
    )

    assert client.get(f"/lank/{other}/", HTTP_USER_AGENT=BROWSER).status_code == 404
    assert _clicks() == {}


def test_it_never_redirects_to_a_script_or_a_scheme_relative_address(client, issue):
    _counting(issue)
    article = issue.articles.first()
    for target in ("javascript:alert(1)", "//angripare.example/", "data:text/html,hej"):
        # Even a link we signed ourselves (a mistake in an article) is refused.
        link = tracked_link_make(article_id=article.pk, url=target)
        response = client.get(link, HTTP_USER_AGENT=BROWSER)
        assert response.status_code == 404, target
    assert _clicks() == {}


def test_it_stops_counting_when_the_editor_turns_it_off_but_the_links_still_work(client, issue):
    _counting(issue)
    link = TRACKED.findall(issue_render(issue=issue).html)[0]
    issue.count_engagement = False
    issue.save()

    response = client.get(link, HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 302
    assert _clicks() == {}


def test_an_editor_trying_the_links_in_the_preview_is_not_counted(client, issue):
    from tests.factories import staff_user_make

    _counting(issue)
    link = TRACKED.findall(issue_render(issue=issue).html)[0]
    client.force_login(staff_user_make(username="redaktor", is_superuser=True))

    assert client.get(link, HTTP_USER_AGENT=BROWSER).status_code == 302
    assert _clicks() == {}
