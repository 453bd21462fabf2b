"""A second pair of eyes: an issue reaches segments only once another editor approved it.

The one home of the rule. The admin's approve button, the dispatch admin, `send_issue` and the
dispatch-start service (worker.services) all ask here. An approval names the rendering version
(newsletter.rendering.issue_version) the approver saw on the preview page; it holds only while
that is still the issue's version, so any edit that changes the email withdraws it (and the
signal below says so in the audit trail). Test sends stay free.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record

from .models import Issue, IssueStatus
from .rendering import issue_current_version
from .revisions import issue_authors_since_approval, issue_last_changed_by

APPROVE_PERMISSION = "newsletter.approve_issue"


class IssueNotApproved(ValidationError):
    """The issue may not go to segments: approval is required and missing or stale."""


class ApprovalRefused(ValidationError):
    """This approval may not be given (own change, stale version, wrong status)."""


def approval_required() -> bool:
    """ISSUE_APPROVAL_REQUIRED, or when unset: on whenever DEBUG is off (read at run time, so
    the test runner, which turns DEBUG off, tests the production rule)."""
    required = getattr(settings, "ISSUE_APPROVAL_REQUIRED", None)
    return (not settings.DEBUG) if required is None else bool(required)


def issue_is_approved(*, issue: Issue, version: str | None = None) -> bool:
    version = version or issue_current_version(issue=issue)
    return bool(issue.approved_version) and issue.approved_version == version


def issue_sendable_version(*, issue: Issue) -> str:
    """The rendering version a dispatch of the issue may send now; raises IssueNotApproved
    (saying it needs approval, godkännande) when the rule is on and the issue's current
    version is not the approved one."""
    version = issue_current_version(issue=issue)
    # The stored approval, not the caller's copy of the row (it may predate the approval).
    approved = Issue.objects.filter(pk=issue.pk).values_list("approved_version", flat=True).first()
    if approval_required() and approved != version:
        if approved:
            message = _(
                "%(issue)s har ändrats sedan det godkändes: det behöver godkännande igen av "
                "en annan redaktör innan det skickas till segment."
            )
        else:
            message = _(
                "%(issue)s behöver godkännande av en redaktör som inte har ändrat det innan "
                "det skickas till segment."
            )
        raise IssueNotApproved(message % {"issue": issue}, code="not_approved")
    return version


def issue_approve(*, issue: Issue, actor, version: str) -> Issue:
    """ready (or published, after a correction) → approved, for the version the approver saw.

    Refused for someone without the right, for the editor who last changed the issue, for a
    version that is no longer the issue's (it changed after the approver looked), and for a
    draft.
    """
    if (
        actor is None
        or not getattr(actor, "has_perm", None)
        or not actor.has_perm(APPROVE_PERMISSION)
    ):
        raise PermissionDenied
    with transaction.atomic():
        issue = Issue.objects.select_for_update().get(pk=issue.pk)
        if issue.status not in (IssueStatus.READY, IssueStatus.PUBLISHED):
            raise ApprovalRefused(
                _("Bara klara nummer kan godkännas (numret är %(status)s).")
                % {"status": issue.get_status_display()}
            )
        current = issue_current_version(issue=issue)
        if version != current:
            raise ApprovalRefused(
                _(
                    "Numret har ändrats sedan du granskade det. Granska den nya versionen och "
                    "godkänn den."
                )
            )
        if issue.approved_version == current:
            raise ApprovalRefused(_("Den här versionen är redan godkänd."))
        last = issue_last_changed_by(issue=issue)
        if last is not None and last.pk == actor.pk:
            raise ApprovalRefused(
                _(
                    "Du ändrade numret senast: en annan redaktör behöver godkänna det "
                    "(en andra granskare)."
                )
            )
        if actor.pk in issue_authors_since_approval(issue=issue):
            raise ApprovalRefused(
                _(
                    "Du har ändrat numret sedan det senast godkändes: en redaktör som inte har "
                    "ändrat det behöver godkänna det (en andra granskare)."
                )
            )
        Issue.objects.filter(pk=issue.pk).update(
            approved_version=current, approved_by=actor, approved_at=timezone.now()
        )
        issue.refresh_from_db()
        audit_record(
            action=AuditAction.ISSUE_APPROVE,
            actor=actor,
            target=issue,
            detail={"version": current, "last_changed_by": last.pk if last else None},
        )
    return issue


def issue_approval_withdraw_if_stale(*, issue_id: int, actor=None) -> bool:
    """Withdraw the approval when the issue's version is no longer the approved one.

    Called after every save of the issue or an article (the signals in apps.py), inside the
    saving transaction; a conditional UPDATE, so two saves withdraw it once.
    """
    issue = Issue.objects.filter(pk=issue_id).first()
    if issue is None or not issue.approved_version:
        return False
    current = issue_current_version(issue=issue)
    if current == issue.approved_version:
        return False
    withdrawn = Issue.objects.filter(pk=issue_id, approved_version=issue.approved_version).update(
        approved_version="", approved_by=None, approved_at=None
    )
    if withdrawn:
        audit_record(
            action=AuditAction.ISSUE_APPROVAL_WITHDRAW,
            actor=actor,
            target=issue,
            detail={"approved_version": issue.approved_version, "version": current},
        )
    return bool(withdrawn)
