"""Unlocking staff accounts that the login lockout (django-axes) has refused."""

import logging

from axes.utils import reset
from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import render

from audit.models import AuditAction
from audit.services import audit_record

from .models import User

log = logging.getLogger("axes.unlock")


def user_unlock(*, user: User, by: User | None = None) -> int:
    """Forget the failed logins made with `user`'s username, from any address, so the next
    login is not refused; returns how many attempt records were removed."""
    removed = reset(username=user.get_username())
    log.info(
        "AXES: %s unlocked the account %r (%d attempt records removed).",
        by.get_username() if by else "a command",
        user.get_username(),
        removed,
    )
    audit_record(
        action=AuditAction.ACCOUNT_UNLOCK, actor=by, target=user, detail={"attempts": removed}
    )
    return removed


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """What a refused login sees (AXES_LOCKOUT_CALLABLE): the Swedish page, status 429."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "accounts/locked_out.html",
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": minutes},
        status=429,
    )
