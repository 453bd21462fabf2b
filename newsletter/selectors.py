"""Reads for the archive, the feed and the editor views.

Which articles go where has one home here: `articles_for_web` (the archive, article pages,
feeds, sitemap, share pages, the content API, webhooks) leaves out email-only articles, and
`articles_for_email` (the rendered email, MJML and text, and its version) leaves out
web-only ones.
"""

from collections.abc import Iterable
from itertools import groupby

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from .models import Article, ArticleChannel, Issue, IssueStatus


def issue_can_view(*, user: AbstractBaseUser | AnonymousUser, issue: Issue) -> bool:
    """Published issues are public; drafts and ready issues only for staff who may see issues
    (the same permission the editor's preview asks for)."""
    return issue.status == IssueStatus.PUBLISHED or bool(
        user.is_active and user.is_staff and user.has_perm("newsletter.view_issue")
    )


def issues_published() -> QuerySet[Issue]:
    return Issue.objects.filter(status=IssueStatus.PUBLISHED).order_by(
        "-year", "-number", "-publication_date"
    )


def issues_published_by_year() -> list[tuple[int, list[Issue]]]:
    """[(2018, [Länsnytt 2018:3, 2018:2, …]), (2017, […])], newest first."""
    issues: Iterable[Issue] = issues_published()
    return [(year, list(group)) for year, group in groupby(issues, key=lambda i: i.year)]


def articles_for_web(*, issue: Issue | None = None) -> QuerySet[Article]:
    """The articles on the web (of `issue`, or of every issue), in the issue's order."""
    articles = Article.objects.exclude(channel=ArticleChannel.EMAIL_ONLY)
    if issue is not None:
        articles = articles.filter(issue=issue)
    return articles.order_by("position", "id")


def articles_for_email(*, issue: Issue) -> QuerySet[Article]:
    """The articles of the issue's email, in order."""
    return (
        Article.objects.filter(issue=issue)
        .exclude(channel=ArticleChannel.WEB_ONLY)
        .order_by("position", "id")
    )


def articles_published() -> QuerySet[Article]:
    """Every published article on the web, newest issue first (feeds, sitemap)."""
    return (
        articles_for_web()
        .filter(issue__status=IssueStatus.PUBLISHED)
        .select_related("issue")
        .order_by("-issue__year", "-issue__number", "position", "id")
    )


def issue_get_by_slug(*, slug: str) -> Issue:
    try:
        return Issue.objects.get(slug=slug)
    except Issue.DoesNotExist as error:
        raise Http404("no such issue") from error


def article_get(*, issue: Issue, slug: str) -> Article:
    try:
        return articles_for_web(issue=issue).get(slug=slug)
    except Article.DoesNotExist as error:
        raise Http404("no such article") from error


def latest_issue_for_welcome():
    """The newest published issue as the welcome email links it, or None before the first."""
    from subscribers.welcome import LatestIssue

    from .content import absolute_url

    issue = issues_published().first()
    if issue is None:
        return None
    return LatestIssue(title=issue.title, url=absolute_url(issue.get_absolute_url()))
