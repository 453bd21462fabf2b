"""The welcome email after a confirmed sign-up, and the one door it has to the magazine.

The welcome links the latest published issue, yet subscribers may not import newsletter
(newsletter depends on subscribers; import-linter enforces it). So the newsletter app
registers a function here when it is ready that names its latest published issue, and the
welcome asks whatever was registered (nothing registered, or no issue yet: the welcome
links the archive instead).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from .models import ConsentAction, SubscriberStatus


@dataclass(frozen=True)
class LatestIssue:
    title: str
    url: str  # absolute


_latest_issue: Callable[[], LatestIssue | None] | None = None


def latest_issue_register(finder: Callable[[], LatestIssue | None]) -> None:
    global _latest_issue
    _latest_issue = finder


def latest_issue() -> LatestIssue | None:
    return _latest_issue() if _latest_issue is not None else None


def welcome_mail_send(*, consent_event_id: int) -> bool:
    """Welcome the person whose confirmation `consent_event_id` is; True if sent.

    Keyed by the confirmation event, which only the call that activated the subscriber
    writes: confirming twice, or two confirmations at once, make one event and one welcome.
    Nothing is sent to someone who left, or was erased, before the task ran.
    """
    from .emails import _event_for_mail, subscriber_mail_send
    from .tokens import preferences_url, unsubscribe_url

    if not settings.WELCOME_EMAIL_ENABLED:
        return False
    event = _event_for_mail(consent_event_id, ConsentAction.CONFIRM)
    if event is None or event.subscriber.status != SubscriberStatus.ACTIVE:
        return False
    subscriber = event.subscriber
    unsubscribe = unsubscribe_url(subscriber_id=subscriber.pk, email=subscriber.email)
    subscriber_mail_send(
        subscriber=subscriber,
        template="welcome",
        context={
            "latest_issue": latest_issue(),
            "archive_url": settings.SITE_URL + "/arkiv/",
            "preferences_url": preferences_url(subscriber_id=subscriber.pk, email=subscriber.email),
            "unsubscribe_url": unsubscribe,
        },
        headers={
            # As in every issue (RFC 8058): the mail program's own unsubscribe button.
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    return True
