"""Reads for the archive, the feed and the editor views."""

from collections.abc import Iterable
from itertools import groupby

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from .models import Article, Issue, IssueStatus


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


def articles_published() -> QuerySet[Article]:
    return (
        Article.objects.filter(issue__status=IssueStatus.PUBLISHED)
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
        return issue.articles.get(slug=slug)
    except Article.DoesNotExist as error:
        raise Http404("no such article") from error
