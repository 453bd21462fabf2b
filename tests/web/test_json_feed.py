"""JSON Feed 1.1 next to the Atom feed: the same entries, published ones only."""

import json

import pytest

from tests.factories import article_make, issue_make

pytestmark = pytest.mark.django_db


def test_it_gives_the_published_issues_and_articles_as_json_feed_1_1(client):
    issue = issue_make(year=2018, number=1, status="published", publication_date="2018-03-15")
    article_make(issue=issue, heading="Bokstart når fler familjer", body="Läs **mer** <b>här</b>.")
    draft = issue_make(year=2018, number=2, status="draft")
    article_make(issue=draft, heading="Hemligt utkast")

    response = client.get("/arkiv/feed.json")

    assert response["Content-Type"] == "application/feed+json; charset=utf-8"
    raw = response.content.decode()
    assert "<" not in raw  # editors' HTML travels escaped, whatever reads the document
    feed = json.loads(raw)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"].endswith("/arkiv/feed.json")
    titles = [item["title"] for item in feed["items"]]
    assert titles == ["Länsnytt 2018:1", "Bokstart når fler familjer (Länsnytt 2018:1)"]
    article = feed["items"][1]
    assert "<strong>mer</strong>" in article["content_html"]
    assert article["url"].endswith("/arkiv/2018-1/bokstart-nar-fler-familjer/")
    assert article["date_published"].startswith("2018-03-15T08:00:00")
    assert len({item["id"] for item in feed["items"]}) == 2


def test_the_archive_links_both_feeds(client):
    page = client.get("/arkiv/").content.decode()

    assert 'type="application/feed+json"' in page and 'href="/arkiv/feed.json"' in page
    assert 'type="application/atom+xml"' in page
