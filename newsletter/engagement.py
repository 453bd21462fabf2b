"""Counting clicks and page views per article, without telling readers apart.

Off unless an editor turns it on for an issue (Issue.count_engagement). Then the article
links in its email point at /lank/<token>/, a signed token naming the article and the one
URL the link was made for: the redirect goes there and nowhere else, so it cannot be used as
an open redirect, and the token is the same for every reader, so a click says nothing about
who clicked. Article pages of such an issue count their views on the server. All that is
stored is a number per article, day and kind (ArticleDailyCount); no cookie is set, no IP
address, user agent or subscriber is kept.

Link scanners, previews and crawlers are cheaply left out: HEAD requests, prefetches, an
empty user agent, user agents that say they are robots, and logged-in staff. What is left is
an estimate, which is all an aggregate counter can be.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from .content import absolute_url
from .models import Article, ArticleDailyCount, ArticleEngagementTotal, EngagementKind, Issue

_SALT = "lansnytt.newsletter.link"

# Robots that say so, and the libraries scanners are built on. Cheap on purpose: the count
# is aggregate anyway, so a scanner that passes for a browser costs one click, not a profile.
_ROBOT_AGENT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|preview|scanner|monitor|curl|wget|python-|httpx|"
    r"java/|go-http-client|okhttp|libwww|facebookexternalhit|proofpoint|mimecast|barracuda",
    re.IGNORECASE,
)
# Headers browsers send with speculative loads (link prefetch, prerender, Safari previews).
_PREFETCH_HEADERS = ("HTTP_PURPOSE", "HTTP_SEC_PURPOSE", "HTTP_X_PURPOSE", "HTTP_X_MOZ")


class TrackedLinkInvalid(Exception):
    """The token is forged or altered, or names a target that is not a web address."""


@dataclass(frozen=True)
class TrackedLink:
    article_id: int
    url: str


def _signer() -> signing.Signer:
    return signing.Signer(salt=_SALT)


def tracked_link_make(*, article_id: int, url: str) -> str:
    """The absolute URL of the counting redirect for one article link."""
    token = _signer().sign_object({"a": article_id, "u": url}, compress=True)
    return absolute_url(reverse("newsletter:tracked_link", kwargs={"token": token}))


def tracked_link_read(*, token: str) -> TrackedLink:
    try:
        payload = _signer().unsign_object(token)
    except (signing.BadSignature, ValueError) as error:
        raise TrackedLinkInvalid(str(error)) from error
    article_id, url = payload.get("a"), payload.get("u")
    if not isinstance(article_id, int) or not isinstance(url, str):
        raise TrackedLinkInvalid("malformed payload")
    # Signed by us, so this only guards against our own mistakes: never a javascript: or
    # data: URL, never a scheme-relative one.
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise TrackedLinkInvalid("not a web address")
    return TrackedLink(article_id=article_id, url=url)


def request_countable(request: HttpRequest) -> bool:
    """Whether a request looks like a person reading, by the cheap signs (module doc).

    Logged-in staff (an editor trying the links in the preview) are not readers."""
    if request.method != "GET":
        return False
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return False
    if any(request.META.get(header) for header in _PREFETCH_HEADERS):
        return False
    agent = request.META.get("HTTP_USER_AGENT", "")
    return bool(agent.strip()) and not _ROBOT_AGENT.search(agent)


def article_count(*, article_id: int, kind: str) -> bool:
    """Add one to today's count for the article, if its issue counts; True when counted."""
    if not Article.objects.filter(pk=article_id, issue__count_engagement=True).exists():
        return False
    day = timezone.localdate()
    rows = ArticleDailyCount.objects.filter(article_id=article_id, day=day, kind=kind)
    if rows.update(count=F("count") + 1):
        return True
    try:
        with transaction.atomic():
            ArticleDailyCount.objects.create(article_id=article_id, day=day, kind=kind, count=1)
    except IntegrityError:
        # Another request made today's row a moment ago.
        rows.update(count=F("count") + 1)
    return True


@dataclass(frozen=True)
class ArticleEngagement:
    article: Article
    clicks: int
    views: int


def issue_engagement(*, issue: Issue) -> list[ArticleEngagement]:
    """Clicks and views per article of the issue, in the order of the issue."""
    totals: dict[tuple[int, str], int] = defaultdict(int)
    for row in (
        ArticleDailyCount.objects.filter(article__issue=issue)
        .values("article_id", "kind")
        .annotate(total=Sum("count"))
    ):
        totals[(row["article_id"], row["kind"])] += row["total"]
    # The days the retention rule folded away (engagement_counts_fold).
    for article_id, kind, count in ArticleEngagementTotal.objects.filter(
        article__issue=issue
    ).values_list("article_id", "kind", "count"):
        totals[(article_id, kind)] += count
    return [
        ArticleEngagement(
            article=article,
            clicks=totals.get((article.pk, EngagementKind.CLICK), 0),
            views=totals.get((article.pk, EngagementKind.VIEW), 0),
        )
        for article in issue.articles.order_by("position", "id")
    ]


def engagement_counts_stale(*, before: dt.date):
    return ArticleDailyCount.objects.filter(day__lt=before)


def engagement_counts_fold(*, before: dt.date, batch_size: int) -> int:
    """Fold the daily counts of days before `before` into each article's kept total, in
    batches; returns how many daily rows were folded.

    Each batch locks its rows, adds them to the totals and deletes them in one transaction,
    so a row is counted once whoever else folds at the same time (a locked row is skipped,
    not waited for). Today's row, the one the counter updates, is never among them.
    """
    folded = 0
    while True:
        with transaction.atomic():
            rows = list(
                engagement_counts_stale(before=before)
                .select_for_update(skip_locked=True)
                .order_by("pk")
                .values_list("pk", "article_id", "kind", "count")[:batch_size]
            )
            if not rows:
                return folded
            sums: dict[tuple[int, str], int] = defaultdict(int)
            for _pk, article_id, kind, count in rows:
                sums[(article_id, kind)] += count
            for (article_id, kind), count in sorted(sums.items()):
                _total_add(article_id=article_id, kind=kind, count=count)
            ArticleDailyCount.objects.filter(pk__in=[row[0] for row in rows]).delete()
        folded += len(rows)


def _total_add(*, article_id: int, kind: str, count: int) -> None:
    totals = ArticleEngagementTotal.objects.filter(article_id=article_id, kind=kind)
    if totals.update(count=F("count") + count):
        return
    try:
        with transaction.atomic():
            ArticleEngagementTotal.objects.create(article_id=article_id, kind=kind, count=count)
    except IntegrityError:
        # Another fold made the row a moment ago.
        totals.update(count=F("count") + count)
