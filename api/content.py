"""The public content API: published issues and their articles, for the region's web CMS, a
blog or a social-media scheduler. Nothing here needs a token and nothing unpublished shows:
every read starts from newsletter.selectors' published querysets."""

from __future__ import annotations

import math
from datetime import datetime, time

from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from newsletter import selectors
from newsletter.content import absolute_url, markdown_to_safe_html, media_url
from newsletter.models import Article, Issue

from . import schemas
from .conditional import not_modified, validators_for, validators_set

router = Router(tags=["content"])

PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)


def _published_at(issue: Issue) -> datetime:
    # The same moment the Atom feed gives: the publication day, 08:00 Stockholm time.
    if issue.publication_date:
        return timezone.make_aware(datetime.combine(issue.publication_date, time(8)))
    return issue.created_at


def _image(file, alt: str) -> dict | None:
    return {"url": media_url(file.name), "alt": alt} if file else None


def _issue_summary(issue: Issue) -> dict:
    return {
        "slug": issue.slug,
        "title": issue.title,
        "year": issue.year,
        "number": issue.number,
        "permalink": absolute_url(issue.get_absolute_url()),
        "language": issue.language,
        "published": _published_at(issue),
        "updated": issue.updated_at,
    }


def _article_summary(article: Article) -> dict:
    return {
        "slug": article.slug,
        "kicker": article.kicker,
        "title": article.heading,
        "lead": article.lead,
        "permalink": absolute_url(article.get_absolute_url()),
        "image": _image(article.image, article.image_alt),
        "channel": article.channel,
    }


def _issue_changed(issue: Issue) -> datetime:
    """The last change to the issue or any of its articles (a deleted article shows through
    the ETag, which names the article ids)."""
    latest = selectors.articles_for_web(issue=issue).aggregate(latest=Max("updated_at"))["latest"]
    return max(filter(None, [issue.updated_at, latest]))


def _page_url(request: HttpRequest, page: int, page_size: int) -> str:
    query = request.GET.copy()
    query["page"] = str(page)
    query["page_size"] = str(page_size)
    return absolute_url(request.path) + "?" + query.urlencode()


@router.get(
    "/issues/",
    response={200: schemas.IssuePage, 304: None},
    summary="Published issues, newest first",
)
def issues_list(request: HttpRequest, response: HttpResponse, paging: Query[PageQuery]):
    issues = selectors.issues_published()
    count = issues.count()
    pages = max(1, math.ceil(count / paging.page_size))
    start = (paging.page - 1) * paging.page_size
    page = list(issues[start : start + paging.page_size])
    changed = [issue.updated_at for issue in page]
    latest_article = (
        selectors.articles_for_web()
        .filter(issue__in=page)
        .aggregate(latest=Max("updated_at"))["latest"]
        if page
        else None
    )
    last_modified = max(filter(None, [*changed, latest_article]), default=None)
    etag = validators_for("issues", paging.page, paging.page_size, count, [
        (issue.pk, issue.updated_at) for issue in page
    ], latest_article)  # fmt: skip
    cached = not_modified(request, etag=etag, last_modified=last_modified)
    if cached is not None:
        return cached
    validators_set(response, etag=etag, last_modified=last_modified)
    return {
        "count": count,
        "page": paging.page,
        "pages": pages,
        "next": _page_url(request, paging.page + 1, paging.page_size)
        if paging.page < pages
        else None,
        "previous": _page_url(request, paging.page - 1, paging.page_size)
        if paging.page > 1
        else None,
        "results": [_issue_summary(issue) for issue in page],
    }


def _published_issue(slug: str) -> Issue | None:
    return selectors.issues_published().filter(slug=slug).first()


@router.get(
    "/issues/{issue_slug}/",
    response={200: schemas.Issue, 304: None, 404: schemas.Problem},
    summary="One published issue with its articles",
)
def issue_detail(request: HttpRequest, response: HttpResponse, issue_slug: str):
    issue = _published_issue(issue_slug)
    if issue is None:
        return Status(404, {"detail": _("Inget publicerat nummer med det kortnamnet.")})
    articles = list(selectors.articles_for_web(issue=issue))
    last_modified = _issue_changed(issue)
    etag = validators_for("issue", issue.pk, issue.updated_at, [
        (article.pk, article.updated_at) for article in articles
    ])  # fmt: skip
    cached = not_modified(request, etag=etag, last_modified=last_modified)
    if cached is not None:
        return cached
    validators_set(response, etag=etag, last_modified=last_modified)
    return {
        **_issue_summary(issue),
        "subject": issue.subject,
        "intro": issue.intro,
        "cover_image": _image(issue.cover_image, issue.cover_image_alt),
        "articles": [_article_summary(article) for article in articles],
    }


@router.get(
    "/issues/{issue_slug}/articles/{article_slug}/",
    response={200: schemas.Article, 304: None, 404: schemas.Problem},
    summary="One article of a published issue",
)
def article_detail(
    request: HttpRequest, response: HttpResponse, issue_slug: str, article_slug: str
):
    issue = _published_issue(issue_slug)
    article = (
        selectors.articles_for_web(issue=issue).filter(slug=article_slug).first() if issue else None
    )
    if article is None:
        return Status(404, {"detail": _("Ingen publicerad artikel med det kortnamnet.")})
    last_modified = max(article.updated_at, issue.updated_at)
    etag = validators_for("article", article.pk, article.updated_at, issue.updated_at)
    cached = not_modified(request, etag=etag, last_modified=last_modified)
    if cached is not None:
        return cached
    validators_set(response, etag=etag, last_modified=last_modified)
    return {
        **_article_summary(article),
        "issue": issue.slug,
        "body_html": markdown_to_safe_html(article.body),
        "body_markdown": article.body,
        "image_credit": article.image_credit,
        "language": issue.language,
        "published": _published_at(issue),
        "updated": article.updated_at,
    }
