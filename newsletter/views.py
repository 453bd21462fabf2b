"""The public web archive: issues by year, each issue's web version, article permalinks."""

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import condition, require_safe

from . import selectors
from .colophon import colophon
from .content import absolute_url, markdown_to_safe_html, media_url
from .edition.pdf import issue_edition
from .edition.responses import edition_response
from .engagement import TrackedLinkInvalid, article_count, request_countable, tracked_link_read
from .models import EngagementKind, Issue
from .sharing import (
    mastodon_host_clean,
    mastodon_share_url,
    share_card_png,
    share_links,
)


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
    articles = list(selectors.articles_for_web(issue=found))
    return render(
        request,
        "newsletter/issue_detail.html",
        {
            "issue": found,
            "articles": articles,
            "canonical_url": absolute_url(found.get_absolute_url()),
            "cover_url": media_url(found.cover_image.name) if found.cover_image else "",
            "colophon": colophon(),
            "pdf_url": found.get_pdf_url() if found.is_published else "",
            "corrections": list(found.corrections.order_by("created_at", "id")),
        },
    )


@require_safe
def issue_pdf(request: HttpRequest, issue_slug: str, edition_slug: str) -> HttpResponse:
    """The issue's PDF edition, /arkiv/2018-1/lansnytt-2018-1.pdf: for published issues only.

    Unlike the web version, staff get no preview of a draft here (the print pages have the
    proof): the public address of an unpublished issue answers as if it did not exist."""
    if edition_slug != issue_slug:
        raise Http404("no such edition")
    found = selectors.issue_get_by_slug(slug=issue_slug)
    if not found.is_published:
        raise Http404("not published")
    return edition_response(request, issue_edition(issue=found), public=True)


def article(request: HttpRequest, issue_slug: str, article_slug: str) -> HttpResponse:
    found_issue = selectors.issue_get_by_slug(slug=issue_slug)
    denied = _unless_visible(request, found_issue)
    if denied:
        return denied
    found = selectors.article_get(issue=found_issue, slug=article_slug)
    # Drafts are not read yet (and staff are not readers: request_countable).
    if found_issue.count_engagement and found_issue.is_published and request_countable(request):
        article_count(article_id=found.pk, kind=EngagementKind.VIEW)
    canonical_url = absolute_url(found.get_absolute_url())
    card_url = absolute_url(_share_path("article_share_card", found_issue, found))
    return render(
        request,
        "newsletter/article_detail.html",
        {
            "issue": found_issue,
            "article": found,
            "body_html": markdown_to_safe_html(found.body),
            "canonical_url": canonical_url,
            "image_url": media_url(found.image.name) if found.image else "",
            # What the networks show: the article's own image, else the generated card.
            "share_image_url": media_url(found.image.name) if found.image else card_url,
            "share_image_alt": found.image_alt if found.image else found.heading,
            "share_links": share_links(
                article=found,
                url=canonical_url,
                mastodon_page=_share_path("article_share_mastodon", found_issue, found),
            ),
            "description": found.lead or found_issue.preheader or found_issue.title,
        },
    )


def _share_path(name: str, issue: Issue, article) -> str:
    return reverse(
        f"newsletter:{name}", kwargs={"issue_slug": issue.slug, "article_slug": article.slug}
    )


def _published_article(issue_slug: str, article_slug: str):
    # Share pages are for what is public; a draft's card would leak its title.
    found_issue = selectors.issue_get_by_slug(slug=issue_slug)
    if not found_issue.is_published:
        raise Http404("not published")
    return found_issue, selectors.article_get(issue=found_issue, slug=article_slug)


def _card_etag(request: HttpRequest, issue_slug: str, article_slug: str) -> str | None:
    try:
        found_issue, found = _published_article(issue_slug, article_slug)
    except Http404:
        return None  # the view itself answers 404
    return f"card-{found.pk}-{found.updated_at.timestamp()}-{found_issue.updated_at.timestamp()}"


@require_safe
@condition(etag_func=_card_etag)
def article_share_card(request: HttpRequest, issue_slug: str, article_slug: str) -> HttpResponse:
    """The article's Open Graph card, 1200×630 PNG, drawn on the server."""
    found_issue, found = _published_article(issue_slug, article_slug)
    response = HttpResponse(share_card_png(article=found), content_type="image/png")
    patch_cache_control(response, public=True, max_age=86400)
    return response


@require_safe
def article_share_mastodon(
    request: HttpRequest, issue_slug: str, article_slug: str
) -> HttpResponse:
    """Ask for the reader's Mastodon server, then send them to its share form.

    Only this article's permalink can be shared from here, and only to a host name: the
    page cannot be used to redirect anyone anywhere else."""
    found_issue, found = _published_article(issue_slug, article_slug)
    raw = request.GET.get("server", "")
    error = ""
    if raw:
        host = mastodon_host_clean(raw)
        if host:
            return HttpResponseRedirect(
                mastodon_share_url(
                    host=host, article=found, url=absolute_url(found.get_absolute_url())
                )
            )
        error = "invalid"
    return render(
        request,
        "newsletter/share_mastodon.html",
        {"issue": found_issue, "article": found, "server": raw[:100], "error": error},
        status=400 if error else 200,
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
