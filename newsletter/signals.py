"""What every save of an issue or an article sets off, whichever entry point made it: the
correction guard (corrections.py) before it, the approval check (approval.py) after it.
Connected in NewsletterConfig.ready."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from simple_history.models import HistoricalRecords

from .approval import issue_approval_withdraw_if_stale
from .corrections import article_delete_guard, content_edit_guard
from .models import Article, Issue


def _request_user():
    """The editor of the request being served (HistoryRequestMiddleware keeps it), if any."""
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _approval_check(sender, instance, **kwargs) -> None:
    if kwargs.get("raw"):
        return
    issue_id = instance.pk if sender is Issue else instance.issue_id
    issue_approval_withdraw_if_stale(issue_id=issue_id, actor=_request_user())


def signals_connect() -> None:
    for model in (Issue, Article):
        pre_save.connect(content_edit_guard, sender=model, dispatch_uid=f"guard-{model.__name__}")
        post_save.connect(_approval_check, sender=model, dispatch_uid=f"approval-{model.__name__}")
    pre_delete.connect(article_delete_guard, sender=Article, dispatch_uid="guard-article-delete")
    post_delete.connect(_approval_check, sender=Article, dispatch_uid="approval-article-delete")
