"""The public web archive: issues by year, each issue's web version, article permalinks."""

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import selectors
from .content import absolute_url, markdown_to_safe_html, media_url
from .engagement import TrackedLinkInvalid, article_count, request_countable, tracked_link_read
from .models import EngagementKind, Issue


def archive(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "newsletter/archive.html",
        {"years": selectors.issues_published_by_year()},
    )


def issue(request: HttpRequest, issue_slug: str) -> HttpResponse:
    found = selectors.issue_get_by_slug(slug=issue_slug)
    denied = _unless_visible(request, found)
    if denied:
        return denied
    articles = list(found.articles.order_by("position", "id"))
    return render(
        request,
        "newsletter/issue_detail.html",
        {
            "issue": found,
            "articles": articles,
            "canonical_url": absolute_url(found.get_absolute_url()),
            "cover_url": media_url(found.cover_image.name) if found.cover_image else "",
        },
    )


def article(request: HttpRequest, issue_slug: str, article_slug: str) -> HttpResponse:
    found_issue = selectors.issue_get_by_slug(slug=issue_slug)
    denied = _unless_visible(request, found_issue)
    if denied:
        return denied
    found = selectors.article_get(issue=found_issue, slug=article_slug)
    # Drafts are not read yet (and staff are not readers: request_countable).
    if found_issue.count_engagement and found_issue.is_published and request_countable(request):
        article_count(article_id=found.pk, kind=EngagementKind.VIEW)
    return render(
        request,
        "newsletter/article_detail.html",
        {
            "issue": found_issue,
            "article": found,
            "body_html": markdown_to_safe_html(found.body),
            "canonical_url": absolute_url(found.get_absolute_url()),
            "image_url": media_url(found.image.name) if found.image else "",
            "description": found.lead or found_issue.preheader or found_issue.title,
        },
    )


def _unless_visible(request: HttpRequest, issue: Issue) -> HttpResponse | None:
    """None when the user may see the issue; a login redirect or 403 otherwise."""
    if selectors.issue_can_view(user=request.user, issue=issue):
        return None
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raise PermissionDenied("drafts are visible to staff only")


@require_safe
def tracked_link(request: HttpRequest, token: str) -> HttpResponse:
    """Count one click on an article link and go to the URL the link was made for."""
    try:
        link = tracked_link_read(token=token)
    except TrackedLinkInvalid:
        return render(request, "newsletter/link_invalid.html", status=404)
    if request_countable(request):
        article_count(article_id=link.article_id, kind=EngagementKind.CLICK)
    response = HttpResponseRedirect(link.url)
    # Every click must reach us to be counted, and no cache should keep the hop.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
