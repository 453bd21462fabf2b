"""Revisions of issues and articles, kept by django-simple-history.

Every save of an Issue or an Article, from any entry point (the admin, the editor pages,
services, commands), writes a historical row naming who saved it (the request's user through
HistoryRequestMiddleware, or `_history_user` set by a service). The admin shows the history
with a diff of each change and restores an earlier revision by saving it again, which is itself
a new revision (IssueAdmin and ArticleAdmin are SimpleHistoryAdmins).
"""

from __future__ import annotations

import difflib

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from simple_history.template_utils import HistoricalRecordContextHelper

from .models import Article, Issue

# How many recent revisions of the issue and of its articles are looked at.
_LOOK_BACK = 50
# How many revisions since the last approval are read for its authors (an issue between two
# approvals has tens; the bound keeps a flood of saves from making approving slow).
_AUTHORS_LOOK_BACK = 1000


def _changed(record) -> bool:
    """Whether the revision changed anything (a save with nothing changed is not a change)."""
    if record.history_type != "~":
        return True
    previous = record.prev_record
    if previous is None:
        return True
    return bool(record.diff_against(previous).changed_fields)


def issue_last_changed_by(*, issue: Issue):
    """The user who last changed the issue or one of its articles, or None when no one did
    (made by a command, or by the system). Saves that changed nothing are passed over, so
    saving an unchanged form does not make someone the last editor."""
    issue_records = Issue.history.filter(id=issue.pk).select_related("history_user")
    article_records = Article.history.filter(issue_id=issue.pk).select_related("history_user")
    candidates = sorted(
        [
            *issue_records.order_by("-history_date")[:_LOOK_BACK],
            *article_records.order_by("-history_date")[:_LOOK_BACK],
        ],
        key=lambda record: record.history_date,
        reverse=True,
    )
    for record in candidates:
        if _changed(record):
            return record.history_user
    # Only saves that changed nothing in the window (someone saving over and over to push
    # their change out of sight): the latest saver counts, never "no one".
    return candidates[0].history_user if candidates else None


def issue_authors_since_approval(*, issue: Issue) -> set[int]:
    """The ids of everyone who changed the issue or one of its articles since it was last
    approved (since it was made, if it never was): none of them may approve it.

    Four eyes means the approver wrote none of what they approve. Looking only at the last
    editor would let A change the subject, B fix a typo in a body, and A then approve A's own
    subject. Saves that changed nothing do not make anyone an author.
    """
    from audit.models import AuditAction, AuditEntry

    approved_at = (
        AuditEntry.objects.filter(
            action=AuditAction.ISSUE_APPROVE,
            object_type=Issue._meta.label_lower,
            object_id=str(issue.pk),
        )
        .values_list("created_at", flat=True)
        .first()  # the newest: entries are ordered newest first
    )
    issue_records = Issue.history.filter(id=issue.pk)
    article_records = Article.history.filter(issue_id=issue.pk)
    if approved_at is not None:
        issue_records = issue_records.filter(history_date__gt=approved_at)
        article_records = article_records.filter(history_date__gt=approved_at)
    authors: set[int] = set()
    for records in (issue_records, article_records):
        for record in records.exclude(history_user_id=None).order_by("-history_date")[
            :_AUTHORS_LOOK_BACK
        ]:
            if record.history_user_id not in authors and _changed(record):
                authors.add(record.history_user_id)
    return authors


def text_diff(old: str, new: str) -> SafeString:
    """Word by word: removed words in <del>, added in <ins>, all escaped."""
    old_words, new_words = str(old or "").split(" "), str(new or "").split(" ")
    parts = []
    matcher = difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(escape(" ".join(old_words[a1:a2])))
            continue
        if a2 > a1:
            parts.append(f"<del>{escape(' '.join(old_words[a1:a2]))}</del>")
        if b2 > b1:
            parts.append(f"<ins>{escape(' '.join(new_words[b1:b2]))}</ins>")
    return mark_safe(" ".join(parts))  # every piece above is escaped


class RevisionDiffHelper(HistoricalRecordContextHelper):
    """The history page's "Changes" column as a readable word diff (revision_list.html)."""

    def context_for_delta_changes(self, delta) -> list[dict]:
        return [
            {
                "field": self.model._meta.get_field(change.field).verbose_name,
                "diff": text_diff(change.old, change.new),
            }
            for change in delta.changes
        ]
