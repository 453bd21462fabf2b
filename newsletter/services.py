"""Writes on issues and articles: status transitions, ordering, test sends."""

from datetime import datetime, time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_emit

from .content import absolute_url
from .models import Article, Issue, IssueStatus
from .preflight import issue_preflight
from .selectors import articles_for_web
from .testsend import test_sender


class IssueNotReady(Exception):
    """The issue failed the pre-flight checklist; `failures` lists every reason."""

    def __init__(self, failures: list[str]):
        self.failures = failures
        super().__init__(_("Numret kan inte markeras som klart:") + "\n- " + "\n- ".join(failures))


class IssueTransitionError(Exception):
    """The requested status change is not allowed from the issue's current status."""


def issue_mark_ready(*, issue: Issue, actor=None) -> Issue:
    """draft → ready, only when every pre-flight check passes (raises IssueNotReady)."""
    if issue.status != IssueStatus.DRAFT:
        raise IssueTransitionError(
            _("Bara utkast kan markeras som klara (numret är %(status)s).")
            % {"status": issue.get_status_display()}
        )
    failures = [failure for check in issue_preflight(issue=issue) for failure in check.failures]
    if failures:
        raise IssueNotReady(failures)
    return _issue_status_set(
        issue=issue, expected=IssueStatus.DRAFT, status=IssueStatus.READY, actor=actor
    )


def issue_publish(*, issue: Issue, actor=None) -> Issue:
    """ready → published: the issue and its articles appear in the public archive and feed."""
    if issue.status != IssueStatus.READY:
        raise IssueTransitionError(_("Bara klara nummer kan publiceras."))
    with transaction.atomic():
        if issue.publication_date is None:
            issue.publication_date = timezone.localdate()
            issue.save(update_fields=["publication_date", "updated_at"])
        issue = _issue_status_set(
            issue=issue, expected=IssueStatus.READY, status=IssueStatus.PUBLISHED, actor=actor
        )
        _issue_published_announce(issue=issue)
        return issue


def _issue_published_announce(*, issue: Issue) -> None:
    """issue.published, then article.published for each article, in the publishing
    transaction: a publication that rolls back announces nothing."""
    published = datetime.combine(issue.publication_date, time(8)).isoformat()
    webhook_event_emit(
        event=WebhookEvent.ISSUE_PUBLISHED,
        data={
            "issue": issue.slug,
            "title": issue.title,
            "language": issue.language,
            "permalink": absolute_url(issue.get_absolute_url()),
            "api_url": absolute_url(f"/api/v1/issues/{issue.slug}/"),
            "published": published,
        },
    )
    # Announced as published on the web: the email-only articles have no page to link to.
    for article in articles_for_web(issue=issue):
        webhook_event_emit(
            event=WebhookEvent.ARTICLE_PUBLISHED,
            data={
                "issue": issue.slug,
                "article": article.slug,
                "title": article.heading,
                "lead": article.lead,
                "permalink": absolute_url(article.get_absolute_url()),
                "api_url": absolute_url(f"/api/v1/issues/{issue.slug}/articles/{article.slug}/"),
                "published": published,
            },
        )


def issue_reopen(*, issue: Issue, actor=None) -> Issue:
    """ready → draft, for changes after the checklist passed."""
    if issue.status != IssueStatus.READY:
        raise IssueTransitionError(_("Bara klara nummer kan göras om till utkast."))
    return _issue_status_set(
        issue=issue, expected=IssueStatus.READY, status=IssueStatus.DRAFT, actor=actor
    )


@transaction.atomic
def _issue_status_set(*, issue: Issue, expected: str, status: str, actor) -> Issue:
    # Conditional update: two editors pressing the button at once change the status once.
    changed = Issue.objects.filter(pk=issue.pk, status=expected).update(
        status=status, updated_at=timezone.now()
    )
    if not changed:
        raise IssueTransitionError(_("Numrets status ändrades samtidigt av någon annan."))
    issue.refresh_from_db()
    audit_record(
        action=AuditAction.ISSUE_STATUS,
        actor=actor,
        target=issue,
        detail={"from": expected, "to": status},
    )
    return issue


@transaction.atomic
def article_move(*, article: Article, direction: str) -> Article:
    """Swap the article with its neighbour above ("up") or below ("down") in the issue."""
    if direction not in ("up", "down"):
        raise ValueError(f"direction must be 'up' or 'down', not {direction!r}")
    siblings = list(
        Article.objects.select_for_update()
        .filter(issue_id=article.issue_id)
        .order_by("position", "id")
    )
    index = next(i for i, sibling in enumerate(siblings) if sibling.pk == article.pk)
    target = index - 1 if direction == "up" else index + 1
    if 0 <= target < len(siblings):
        siblings[index], siblings[target] = siblings[target], siblings[index]
    # Renumber 1..n so equal or gapped positions typed by hand become a clean order.
    # Saved one by one (not a bulk UPDATE) so each move is a revision, passes the correction
    # guard and withdraws a stale approval like any other edit (newsletter/signals.py).
    for position, sibling in enumerate(siblings, start=1):
        if sibling.position != position:
            sibling.position = position
            sibling.save(update_fields=["position", "updated_at"])
    article.refresh_from_db()
    return article


def issue_send_test(*, issue: Issue, emails: list[str], actor=None) -> int:
    """Send the issue as readers will get it to the given addresses; returns how many went out.

    The message is built and sent by the sending pipeline's own code, so a test shows exactly
    what readers will get (headers, links, DKIM). Addresses are checked first; a refusal by
    the mail server is reported with its reply.
    """
    results = test_sender()(issue=issue, emails=emails, actor=actor)
    refused = [result for result in results if not result.ok]
    if refused:
        raise ValidationError(
            _("E-postservern tog inte emot: %(replies)s")
            % {"replies": "; ".join(f"{result.email}: {result.reply}" for result in refused)}
        )
    return len(results)
