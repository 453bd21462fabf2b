"""Corrections (rättelser): the only way to change the content of an issue that has gone out.

An issue is published when its first dispatch starts (worker.services) or by hand; from then
on its content is what readers got. Changing it is a correction: an editor says why, the
change makes a new rendering version (any running dispatch keeps sending the version it
started with, see worker.outgoing), and the archive shows the note with date and reason.

The guard is a pre_save/pre_delete signal, so every entry point is held to it (the admin, the
editor pages, services, the shell); the admin's forms ask for the reason first, so an editor
sees a message rather than this error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record

from .models import Article, Issue, IssueCorrection, IssueStatus

REASON_MAX_LENGTH = 500

# What readers see. Status and approval change through their services; the timestamps follow.
# Counting clicks is a setting, not content: an editor may always turn it off (it changes the
# rendering version, and a running dispatch keeps its own).
ISSUE_NOT_CONTENT = {"id", "status", "approved_version", "approved_by", "approved_at",
                     "count_engagement", "created_at", "updated_at"}  # fmt: skip
ARTICLE_NOT_CONTENT = {"id", "created_at", "updated_at"}

_correcting: ContextVar[frozenset[int]] = ContextVar("issue_correcting", default=frozenset())


class CorrectionRequired(ValidationError):
    """The issue has gone out: changing its content needs a correction with a reason."""


def correction_required_message(issue: Issue) -> str:
    return _(
        "%(issue)s är publicerat: en ändring av innehållet är en rättelse och behöver en "
        "orsak (fältet Rättelse)."
    ) % {"issue": issue}


def _content(model, instance, excluded: set[str]) -> dict:
    return {
        field.attname: getattr(instance, field.attname)
        for field in model._meta.concrete_fields
        if field.name not in excluded
    }


def _stored_content(model, pk, excluded: set[str]) -> dict | None:
    names = [f.attname for f in model._meta.concrete_fields if f.name not in excluded]
    row = model.objects.filter(pk=pk).values(*names).first()
    if row is None:
        return None
    # File fields come back as names; compare names on both sides.
    return {name: str(value) if value is not None else None for name, value in row.items()}


def _as_stored(content: dict) -> dict:
    return {name: (str(value) if value is not None else None) for name, value in content.items()}


def issue_is_locked(*, issue_id: int) -> bool:
    """Whether the issue's content may change only as a correction right now."""
    if issue_id in _correcting.get():
        return False
    return Issue.objects.filter(pk=issue_id, status=IssueStatus.PUBLISHED).exists()


def content_edit_guard(sender, instance, **kwargs) -> None:
    """pre_save of Issue and Article: refuse a content change of a published issue outside a
    correction. A save that changes nothing readers see (or only the status) passes."""
    if kwargs.get("raw"):
        return  # loading fixtures
    if sender is Issue:
        if instance.pk is None or not issue_is_locked(issue_id=instance.pk):
            return
        stored = _stored_content(Issue, instance.pk, ISSUE_NOT_CONTENT)
        fields = kwargs.get("update_fields")
        current = _as_stored(_content(Issue, instance, ISSUE_NOT_CONTENT))
        if fields is not None:
            current = {k: v for k, v in current.items() if k in fields or k + "_id" in fields}
            stored = {k: v for k, v in (stored or {}).items() if k in current}
        if stored is not None and stored != current:
            raise CorrectionRequired(correction_required_message(instance))
    elif sender is Article:
        if not instance.issue_id or not issue_is_locked(issue_id=instance.issue_id):
            return
        stored = _stored_content(Article, instance.pk, ARTICLE_NOT_CONTENT) if instance.pk else None
        if stored != _as_stored(_content(Article, instance, ARTICLE_NOT_CONTENT)):
            raise CorrectionRequired(correction_required_message(instance.issue))


def article_delete_guard(sender, instance, **kwargs) -> None:
    """pre_delete of Article: removing an article from a published issue is a correction too.
    Deleting the whole issue (its cascade) is not a content change and is left to the admin's
    rights."""
    origin = kwargs.get("origin")
    if isinstance(origin, Issue):
        return
    if instance.issue_id and issue_is_locked(issue_id=instance.issue_id):
        raise CorrectionRequired(correction_required_message(instance.issue))


def correction_reason_clean(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError(_("Skriv orsaken till rättelsen."))
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            _("Orsaken får vara högst %(max)d tecken.") % {"max": REASON_MAX_LENGTH}
        )
    return reason


@contextmanager
def issue_correction(*, issue: Issue, reason: str, actor) -> Iterator[None]:
    """Inside this block the issue's content may change; on leaving it, a change of the
    rendering version or of what the archive shows is recorded as a correction (with an audit
    entry). Nothing changed: nothing recorded. One transaction, so a failed save records
    nothing."""
    from .approval import issue_current_version  # approval imports the models, not us

    reason = correction_reason_clean(reason)
    before_version = issue_current_version(issue=issue)
    before_content = _issue_snapshot(issue.pk)
    token = _correcting.set(_correcting.get() | {issue.pk})
    try:
        with transaction.atomic():
            yield
            if _issue_snapshot(issue.pk) == before_content:
                return
            fresh = Issue.objects.get(pk=issue.pk)
            version = issue_current_version(issue=fresh)
            correction = IssueCorrection.objects.create(
                issue=fresh, reason=reason, version=version, created_by=_user_or_none(actor)
            )
            audit_record(
                action=AuditAction.ISSUE_CORRECTION,
                actor=actor,
                target=fresh,
                detail={
                    "correction": correction.pk,
                    "reason": reason,
                    "version_before": before_version,
                    "version": version,
                },
            )
    finally:
        _correcting.reset(token)


def _issue_snapshot(issue_id: int) -> list:
    issue = Issue.objects.filter(pk=issue_id).values().first()
    articles = list(Article.objects.filter(issue_id=issue_id).order_by("id").values())
    for row in [issue, *articles]:
        if row:
            row.pop("updated_at", None)
    if issue:
        for name in ("approved_version", "approved_by_id", "approved_at", "status"):
            issue.pop(name, None)
    return [issue, articles]


def _user_or_none(actor):
    return actor if getattr(actor, "_meta", None) is not None else None
