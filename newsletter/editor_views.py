"""Staff pages in the admin: preview with checklist, status changes, test sends, ordering.

Every view is wrapped by AdminSite.admin_view (staff login) in IssueAdmin.get_urls and checks
the model permission itself.
"""

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from .approval import (
    APPROVE_PERMISSION,
    ApprovalRefused,
    approval_required,
    issue_approve,
    issue_current_version,
    issue_is_approved,
)
from .corrections import CorrectionRequired
from .linkcheck import link_check_latest, link_check_start, link_result_message
from .models import Article, Issue
from .preflight import issue_preflight
from .rendering import RenderingError, issue_personalise, issue_render
from .revisions import issue_last_changed_by
from .services import (
    IssueNotReady,
    IssueTransitionError,
    article_move,
    issue_mark_ready,
    issue_publish,
    issue_reopen,
    issue_send_test,
)

SAMPLE_NAME = "Anna Andersson"

# The email is shown as it will be sent, so its HTML gets a policy of its own, stricter than
# the site's: a sandbox (a unique origin: no script, no form, no popup, no cookies of ours),
# nothing loads but the images from the site, its own inline styles apply (every email styles
# itself inline), and only our preview page may frame it.
EMAIL_PREVIEW_POLICY = {
    "default-src": [NONE],
    "img-src": [SELF, settings.SITE_ORIGIN, "data:"],
    "style-src": [UNSAFE_INLINE],
    "frame-ancestors": [SELF],
    "form-action": [NONE],
    "base-uri": [NONE],
    "sandbox": True,
}


def preview_url(issue: Issue) -> str:
    return reverse("admin:newsletter_issue_preview", kwargs={"issue_id": issue.pk})


def _issue_for(request: HttpRequest, issue_id: int, *, change: bool = False) -> Issue:
    permission = "newsletter.change_issue" if change else "newsletter.view_issue"
    if not request.user.has_perm(permission):
        raise PermissionDenied
    return get_object_or_404(Issue, pk=issue_id)


def _sample(issue: Issue) -> tuple[str, str]:
    """The email as a sample reader gets it, links pointing nowhere."""
    return issue_personalise(
        issue_render(issue=issue), name=SAMPLE_NAME, preferences_url="#", unsubscribe_url="#"
    )


def preview(request: HttpRequest, issue_id: int) -> HttpResponse:
    issue = _issue_for(request, issue_id)
    checks = issue_preflight(issue=issue)
    error = text = ""
    try:
        _html, text = _sample(issue)
    except RenderingError as rendering_error:
        error = str(rendering_error)
    return render(
        request,
        "admin/newsletter/issue/preview.html",
        {
            **admin.site.each_context(request),
            "title": _("Förhandsgranska %(issue)s") % {"issue": issue},
            "issue": issue,
            "opts": Issue._meta,
            "checks": checks,
            "all_passed": all(check.passed for check in checks),
            **_link_check_context(issue),
            "rendering_error": error,
            "text": text,
            "articles": issue.articles.order_by("position", "id"),
            "can_change": request.user.has_perm("newsletter.change_issue"),
            **_approval_context(request, issue),
        },
    )


def _approval_context(request: HttpRequest, issue: Issue) -> dict:
    # The button names the version shown on this page; approving posts it back, so a change
    # made by someone else meanwhile makes the approval fail instead of approving unseen text.
    version = issue_current_version(issue=issue)
    return {
        "version": version,
        "approved": issue_is_approved(issue=issue, version=version),
        "approval_required": approval_required(),
        "last_changed_by": issue_last_changed_by(issue=issue),
        "can_approve": request.user.has_perm(APPROVE_PERMISSION),
    }


def _link_check_context(issue: Issue) -> dict:
    check = link_check_latest(issue=issue)
    results = [
        {**result, "message": link_result_message(result)}
        for result in (check.results if check else [])
    ]
    return {
        "link_check": check,
        "link_results": results,
        "link_problems": [result for result in results if result["outcome"] != "ok"],
    }


@xframe_options_sameorigin
@csp(EMAIL_PREVIEW_POLICY)
def preview_email(request: HttpRequest, issue_id: int) -> HttpResponse:
    """The email HTML alone, for the preview's iframes (same-origin framing only)."""
    issue = _issue_for(request, issue_id)
    try:
        html, _text = _sample(issue)
    except RenderingError as error:
        return render(
            request, "admin/newsletter/issue/preview_error.html", {"error": str(error)}, status=500
        )
    return HttpResponse(html)


@require_POST
def send_test(request: HttpRequest, issue_id: int) -> HttpResponse:
    issue = _issue_for(request, issue_id, change=True)
    emails = request.POST.get("emails", "").replace(",", "\n").split()
    try:
        sent = issue_send_test(issue=issue, emails=emails, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except RenderingError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("Testutskick skickat till %(count)d adresser.") % {"count": sent}
        )
    return HttpResponseRedirect(preview_url(issue))


@require_POST
def transition(request: HttpRequest, issue_id: int) -> HttpResponse:
    issue = _issue_for(request, issue_id, change=True)
    action = request.POST.get("action")
    try:
        if action == "ready":
            issue_mark_ready(issue=issue, actor=request.user)
            messages.success(request, _("Numret är markerat som klart."))
        elif action == "publish":
            issue_publish(issue=issue, actor=request.user)
            messages.success(request, _("Numret är publicerat i arkivet."))
        elif action == "reopen":
            issue_reopen(issue=issue, actor=request.user)
            messages.success(request, _("Numret är ett utkast igen."))
        elif action == "approve":
            issue_approve(issue=issue, actor=request.user, version=request.POST.get("version", ""))
            messages.success(request, _("Numret är godkänt för utskick."))
        else:
            messages.error(request, _("Okänd åtgärd."))
    except IssueNotReady as error:
        messages.error(request, str(error))
    except IssueTransitionError as error:
        messages.error(request, str(error))
    except ApprovalRefused as error:
        messages.error(request, " ".join(error.messages))
    return HttpResponseRedirect(preview_url(issue))


@require_POST
def move_article(request: HttpRequest, issue_id: int, article_id: int) -> HttpResponse:
    issue = _issue_for(request, issue_id, change=True)
    article = get_object_or_404(Article, pk=article_id, issue=issue)
    direction = request.POST.get("direction", "")
    if direction in ("up", "down"):
        try:
            article_move(article=article, direction=direction)
        except CorrectionRequired as error:
            messages.error(request, " ".join(error.messages))
    return HttpResponseRedirect(preview_url(issue) + "#ordning")


@require_POST
def link_check(request: HttpRequest, issue_id: int) -> HttpResponse:
    """Queue the external link check; a worker asks the servers, the preview shows the result.

    POST with the right to change the issue: the check makes the server send requests, so
    neither a link nor a reader with view rights may start it.
    """
    issue = _issue_for(request, issue_id, change=True)
    link_check_start(issue=issue, user=request.user)
    messages.success(
        request,
        _("Kontrollen av externa länkar har startats. Resultatet visas här när den är klar."),
    )
    return HttpResponseRedirect(preview_url(issue) + "#externa-lankar")


def link_check_progress(request: HttpRequest, issue_id: int) -> JsonResponse:
    """The newest check's status, polled by the preview page until the check is done."""
    issue = _issue_for(request, issue_id)
    check = link_check_latest(issue=issue)
    return JsonResponse({"status": check.status if check else None})
