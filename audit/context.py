"""Who is acting in this request, for the signals that record changes of rights.

Django's m2m_changed and pre_save do not know the request; the middleware puts the request's
user here for the length of the request. Outside a request (a command, the shell) there is
no user and the entry says "systemet".
"""

from contextvars import ContextVar
from typing import Any

current_actor: ContextVar[Any] = ContextVar("audit_current_actor", default=None)


class AuditActorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_actor.set(getattr(request, "user", None))
        try:
            return self.get_response(request)
        finally:
            current_actor.reset(token)
