"""The public web archive: issues by year, permalinks with share metadata, feed, sitemap."""

import feedparser
import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import User
from accounts.roles import EDITORS
from newsletter.models import IssueStatus
from tests.factories import article_make, issue_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def published():
    issue = issue_make(year=2018, number=1, status=IssueStatus.PUBLISHED,
                       publication_date="2018-03-15")  # fmt: skip
    article_make(issue=issue, heading="Bokstart når fler familjer", image="articles/bokstart.png",
                 image_alt="Ett barn läser en bilderbok.")  # fmt: skip
    article_make(issue=issue, heading="Kommer boken?")
    return issue


@pytest.fixture
def draft():
    issue = issue_make(year=2019, number=1, status=IssueStatus.DRAFT)
    article_make(issue=issue, heading="Hemlig nyhet")
    return issue


@pytest.fixture
def staff(client):
    user = User.objects.create_user(username="redaktor", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=EDITORS))
    client.force_login(user)
    return user


def test_it_lists_published_issues_by_year_and_hides_drafts(client, published, draft):
    issue_make(year=2017, number=3, status=IssueStatus.PUBLISHED)

    response = client.get("/arkiv/")

    content = response.content.decode()
    assert response.status_code == 200
    assert '<h2 id="year-2018">2018</h2>' in content and '<h2 id="year-2017">2017</h2>' in content
    assert content.index("2018") < content.index("2017")
    assert "Länsnytt 2018:1" in content
    assert draft.title not in content


def test_it_shows_the_web_version_of_a_published_issue(client, published):
    response = client.get("/arkiv/2018-1/")

    content = response.content.decode()
    assert response.status_code == 200
    assert "Bokstart når fler familjer" in content
    assert 'href="/arkiv/2018-1/kommer-boken/"' in content
    assert '<link rel="canonical" href="http://localhost:8000/arkiv/2018-1/">' in content
    assert "__LANSNYTT_" not in content  # its own template, not the email HTML


def test_it_gives_article_permalinks_canonical_open_graph_and_twitter_metadata(client, published):
    response = client.get("/arkiv/2018-1/bokstart-nar-fler-familjer/")

    content = response.content.decode()
    assert response.status_code == 200
    url = "http://localhost:8000/arkiv/2018-1/bokstart-nar-fler-familjer/"
    assert f'<link rel="canonical" href="{url}">' in content
    assert f'<meta property="og:url" content="{url}">' in content
    assert '<meta property="og:title" content="Bokstart når fler familjer">' in content
    assert '<meta property="og:description" content="Bokstart stödjer' in content
    assert (
        '<meta property="og:image" content="http://localhost:8000/media/articles/bokstart.png">'
        in content
    )
    assert '<meta name="twitter:card" content="summary_large_image">' in content
    assert "<strong>Storbritannien</strong>" in content  # the Markdown body, rendered


def test_it_answers_404_for_an_unknown_article(client, published):
    assert client.get("/arkiv/2018-1/finns-inte/").status_code == 404
    assert client.get("/arkiv/1999-9/").status_code == 404


@pytest.mark.parametrize("path", ["/arkiv/2019-1/", "/arkiv/2019-1/hemlig-nyhet/"])
def test_it_sends_anonymous_visitors_of_a_draft_to_the_login(client, draft, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_it_refuses_drafts_to_signed_in_readers_who_are_not_staff(client, draft):
    client.force_login(User.objects.create_user(username="lasare", password="x"))

    assert client.get("/arkiv/2019-1/").status_code == 403


def test_it_refuses_drafts_to_staff_without_permission_to_see_issues(client, draft):
    client.force_login(User.objects.create_user(username="tryck", password="x", is_staff=True))

    assert client.get(f"/arkiv/{draft.slug}/").status_code == 403


def test_it_shows_drafts_and_ready_issues_to_staff(client, draft, staff):
    response = client.get("/arkiv/2019-1/")
    assert response.status_code == 200
    assert "syns bara för redaktionen" in response.content.decode()
    assert client.get("/arkiv/2019-1/hemlig-nyhet/").status_code == 200


def test_it_publishes_an_atom_feed_of_issues_and_articles(client, published, draft):
    response = client.get("/arkiv/feed/")

    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert feed.version == "atom10"
    assert not feed.bozo
    titles = [entry.title for entry in feed.entries]
    assert titles[0] == "Länsnytt 2018:1"
    assert "Bokstart når fler familjer (Länsnytt 2018:1)" in titles
    links = {entry.link for entry in feed.entries}
    assert "http://testserver/arkiv/2018-1/kommer-boken/" in links
    assert not any("Hemlig" in title for title in titles)


def test_it_lists_published_pages_in_the_sitemap(client, published, draft):
    response = client.get("/sitemap.xml")

    content = response.content.decode()
    assert response.status_code == 200
    assert "<loc>http://testserver/arkiv/2018-1/</loc>" in content
    assert "<loc>http://testserver/arkiv/2018-1/kommer-boken/</loc>" in content
    assert "<loc>http://testserver/arkiv/</loc>" in content
    assert "2019-1" not in content


def test_it_reserves_the_feed_slug_so_no_issue_hides_the_feed():
    from django.core.exceptions import ValidationError

    issue = issue_make(year=2020, number=1, slug="feed")
    with pytest.raises(ValidationError, match="reserverat"):
        issue.full_clean()
