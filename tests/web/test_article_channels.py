"""An article marked "email only" is on no public web surface (archive, its page, feeds,
sitemap, share pages, the content API); one marked "web only" is not in the email."""

import feedparser
import pytest
from django.urls import reverse

from accounts.roles import EDITORS, role_groups_sync
from newsletter.corrections import issue_correction
from newsletter.models import ArticleChannel, IssueStatus
from newsletter.rendering import issue_render, issue_version
from newsletter.selectors import articles_for_email
from tests.factories import article_make, issue_make, staff_user_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue():
    issue = issue_make(year=2018, number=1, status=IssueStatus.PUBLISHED,
                       publication_date="2018-03-15")  # fmt: skip
    article_make(issue=issue, heading="Bokstart når fler familjer", slug="bokstart", position=1)
    article_make(
        issue=issue,
        heading="Bara för prenumeranter",
        slug="bara-epost",
        position=2,
        lead="Hemlig ingress",
        channel=ArticleChannel.EMAIL_ONLY,
    )
    article_make(
        issue=issue,
        heading="Webbreportage om meröppet",
        slug="bara-webb",
        position=3,
        lead="Webbingress",
        channel=ArticleChannel.WEB_ONLY,
    )
    return issue


def test_a_guessed_url_of_an_email_only_article_is_404_on_every_page(client, issue):
    for name in ("article", "article_share_card", "article_share_mastodon"):
        url = reverse(f"newsletter:{name}", args=[issue.slug, "bara-epost"])
        assert client.get(url).status_code == 404, name
    api = client.get(f"/api/v1/issues/{issue.slug}/articles/bara-epost/")
    assert api.status_code == 404
    # The web-only article has its page.
    assert (
        client.get(reverse("newsletter:article", args=[issue.slug, "bara-webb"])).status_code == 200
    )


def test_an_email_only_article_is_in_no_archive_feed_sitemap_or_api_listing(client, issue):
    pages = {
        "issue": client.get(reverse("newsletter:issue", args=[issue.slug])),
        "atom": client.get(reverse("newsletter:feed")),
        "json": client.get(reverse("newsletter:json_feed")),
        "sitemap": client.get("/sitemap.xml"),
        "api": client.get(f"/api/v1/issues/{issue.slug}/"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        content = response.content.decode()
        assert "bara-epost" not in content and "Hemlig ingress" not in content, name
        assert "bara-webb" in content, name
    atom = feedparser.parse(pages["atom"].content)
    assert "Bara för prenumeranter" not in {entry.title.split(" (")[0] for entry in atom.entries}
    assert [a["channel"] for a in pages["api"].json()["articles"]] == ["both", "web"]


def test_a_web_only_article_is_left_out_of_the_email_html_and_text(issue):
    rendered = issue_render(issue=issue)

    for part in (rendered.html, rendered.text):
        assert "Webbreportage om meröppet" not in part and "Webbingress" not in part
        assert "Bara för prenumeranter" in part and "Bokstart" in part
    assert [a.slug for a in articles_for_email(issue=issue)] == ["bokstart", "bara-epost"]


def test_changing_where_an_article_goes_changes_the_email_and_its_version(issue):
    before = issue_render(issue=issue)
    article = issue.articles.get(slug="bara-webb")
    article.channel = ArticleChannel.BOTH
    with issue_correction(issue=issue, reason="Reportaget ska också med i e-posten", actor=None):
        article.save()

    after = issue_render(issue=issue)

    assert after.version != before.version
    assert "Webbreportage om meröppet" in after.html
    # The version names the channel itself, not only which articles are in the list.
    articles = list(issue.articles.order_by("position", "id"))
    versions = set()
    for channel in ArticleChannel.values:
        articles[0].channel = channel
        versions.add(issue_version(issue=issue, articles=articles))
    assert len(versions) == len(ArticleChannel.values)


def test_editors_set_where_an_article_goes_in_the_admin(client, issue):
    role_groups_sync()
    client.force_login(staff_user_make(username="redaktor", groups=[EDITORS]))
    article = issue.articles.get(slug="bokstart")

    page = client.get(reverse("admin:newsletter_article_change", args=[article.pk]))
    listing = client.get(reverse("admin:newsletter_article_changelist") + "?channel=email")
    preview = client.get(reverse("admin:newsletter_issue_preview", args=[issue.pk]))

    assert 'name="channel"' in page.content.decode()
    assert "Bara för prenumeranter" in listing.content.decode()
    assert "Bokstart når fler familjer" not in listing.content.decode()
    assert "Endast e-post" in preview.content.decode()


def test_an_email_only_article_carries_its_body_in_the_email_and_links_to_no_404(issue):
    article = issue.articles.get(slug="bara-epost")
    article.body = "Hela texten finns **bara** här.\n\n<script>alert(1)</script>"
    with issue_correction(issue=issue, reason="Hela texten", actor=None):
        article.save()

    rendered = issue_render(issue=issue)

    assert "/arkiv/2018-1/bara-epost/" not in rendered.html + rendered.text
    assert "<strong>bara</strong>" in rendered.html and "<script>alert" not in rendered.html
    assert "Hela texten finns **bara** här." in rendered.text
    assert "/arkiv/2018-1/bokstart/" in rendered.html
