"""Atom feed of published issues and their articles, for the blog and social media."""

import json
from datetime import datetime, time

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _

from . import selectors
from .content import absolute_url, markdown_to_safe_html, media_url
from .models import Article, Issue

FEED_ISSUES = 20


class ArchiveFeed(Feed):
    feed_type = Atom1Feed
    title = _("Länsnytt – Regionbibliotek Stockholm")
    subtitle = _("Nya nummer och artiklar i Länsnytt, Regionbibliotek Stockholms tidskrift.")
    author_name = settings.PUBLISHER_NAME

    def link(self) -> str:
        return reverse("newsletter:archive")

    def items(self) -> list[Issue | Article]:
        issues = list(selectors.issues_published()[:FEED_ISSUES])
        articles = selectors.articles_published().filter(issue__in=issues)
        by_issue: dict[int, list[Article]] = {}
        for article in articles:
            by_issue.setdefault(article.issue_id, []).append(article)
        entries: list[Issue | Article] = []
        for issue in issues:
            entries.append(issue)
            entries.extend(by_issue.get(issue.pk, []))
        return entries

    def item_title(self, item: Issue | Article) -> str:
        if isinstance(item, Issue):
            return item.title
        return f"{item.heading} ({item.issue.title})"

    def item_description(self, item: Issue | Article) -> str:
        return item.intro if isinstance(item, Issue) else item.lead

    def item_link(self, item: Issue | Article) -> str:
        return item.get_absolute_url()

    def item_guid(self, item: Issue | Article) -> str:
        kind = "issue" if isinstance(item, Issue) else "article"
        return f"tag:lansnytt,{kind}:{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: Issue | Article) -> datetime:
        issue = item if isinstance(item, Issue) else item.issue
        if issue.publication_date:
            return timezone.make_aware(datetime.combine(issue.publication_date, time(8)))
        return issue.created_at

    def item_updateddate(self, item: Issue | Article) -> datetime:
        return item.updated_at


JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


def json_feed(request: HttpRequest) -> HttpResponse:
    """The same entries as the Atom feed, as JSON Feed 1.1 (https://jsonfeed.org/version/1.1),
    which many social-media schedulers and static-site tools read more easily than Atom."""
    atom = ArchiveFeed()
    items = []
    for item in atom.items():
        entry = {
            "id": atom.item_guid(item),
            "url": absolute_url(atom.item_link(item)),
            "title": atom.item_title(item),
            "summary": atom.item_description(item),
            "date_published": atom.item_pubdate(item).isoformat(),
            "date_modified": atom.item_updateddate(item).isoformat(),
            "language": (item if isinstance(item, Issue) else item.issue).language,
        }
        if isinstance(item, Article):
            entry["content_html"] = markdown_to_safe_html(item.body)
            if item.image:
                entry["image"] = media_url(item.image.name)
        else:
            entry["content_text"] = item.intro or item.title
            if item.cover_image:
                entry["image"] = media_url(item.cover_image.name)
        items.append(entry)
    feed = {
        "version": JSON_FEED_VERSION,
        "title": str(atom.title),
        "description": str(atom.subtitle),
        "home_page_url": absolute_url(atom.link()),
        "feed_url": absolute_url(reverse("newsletter:json_feed")),
        "language": "sv",
        "authors": [{"name": settings.PUBLISHER_NAME, "url": settings.SITE_URL}],
        "items": items,
    }
    # <, > and & written as \u escapes (as Django's json_script does): the feed carries
    # editors' HTML, and no browser that sniffs the document may ever see a tag in it.
    body = json.dumps(feed, ensure_ascii=False)
    for character, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        body = body.replace(character, escape)
    return HttpResponse(body, content_type="application/feed+json; charset=utf-8")
