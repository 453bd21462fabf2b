"""Staff sessions end after STAFF_SESSION_IDLE_MINUTES without a request and
STAFF_SESSION_MAX_HOURS after logging in, whatever happens in between.

Sessions live in the database (SESSION_ENGINE), so both limits are kept where the session is:
every request a person makes moves the row's expiry date to the nearer of the two, and the
database backend then refuses an expired session by itself; the middleware also ends one whose
login time is past the limit. The user's sessions can be ended everywhere (user_sessions_end).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.models import Session
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record

from .models import User

LOGIN_AT_SESSION_KEY = "accounts_login_at"


@receiver(user_logged_in, dispatch_uid="accounts_session_login_at")
def _session_login_at(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        now = timezone.now()
        request.session[LOGIN_AT_SESSION_KEY] = now.isoformat()
        # From the login on, not from the first later request: the default age is two weeks.
        request.session.set_expiry(session_ends_at(login_at=now, now=now))


def session_ends_at(*, login_at: datetime, now: datetime) -> datetime:
    """When a staff session that logged in at `login_at` and is used `now` ends."""
    idle = now + timedelta(minutes=settings.STAFF_SESSION_IDLE_MINUTES)
    hard = login_at + timedelta(hours=settings.STAFF_SESSION_MAX_HOURS)
    return min(idle, hard)


class StaffSessionLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated and _session_ended(request):
            messages.info(request, _("Din session har gått ut. Logga in igen."))
        if request.user.is_authenticated:
            now = timezone.now()
            login_at = _login_at(request)
            # A session without a login time predates these limits: it ends too.
            if login_at is None or session_ends_at(login_at=login_at, now=now) <= now:
                logout(request)
                messages.info(request, _("Din session har gått ut. Logga in igen."))
                return redirect_to_login(request.get_full_path())
            if not _background(request):
                request.session.set_expiry(session_ends_at(login_at=login_at, now=now))
        return self.get_response(request)


def _session_ended(request: HttpRequest) -> bool:
    """The browser still sends the cookie of a session the database no longer has (it expired
    or an administrator ended it); a logout deletes the cookie, so it does not count."""
    staff_page = request.path.startswith(("/admin/", "/personal/"))
    sent = bool(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    return staff_page and sent and request.session.session_key is None


def _background(request: HttpRequest) -> bool:
    """A request a page's script makes by itself (the dispatch counters poll every 2 s) is not
    activity: an admin tab left open must not keep the session alive. Browsers mark those
    with Sec-Fetch-Dest: empty; navigations and form posts say document (or iframe)."""
    return request.headers.get("Sec-Fetch-Dest") == "empty"


def _login_at(request: HttpRequest) -> datetime | None:
    value = request.session.get(LOGIN_AT_SESSION_KEY)
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def user_sessions_end(*, user: User, actor=None) -> int:
    """End every session of `user` (logged out everywhere); returns how many ended.

    The database session backend has no index by user, so this reads the live sessions;
    staff sessions are the only ones there are (subscribers never log in)."""
    ended = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get("_auth_user_id") == str(user.pk)
    ]
    Session.objects.filter(pk__in=ended).delete()
    audit_record(
        action=AuditAction.SESSIONS_END, actor=actor, target=user, detail={"sessions": len(ended)}
    )
    return len(ended)
