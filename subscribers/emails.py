"""The transactional emails of self-service: what each one says and the one way they are sent.

Every one is a template triplet under templates/subscribers/email/ (subject, text, html) and
goes out through `mail_send`, which also keeps control characters out of what it puts into a
message. The tasks in tasks.py call the `*_mail_send` functions here with IDs, after the
request's transaction has committed, so no request waits for (or is timed by) a mail server.
"""

from __future__ import annotations

import smtplib
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from .models import (
    PRIVACY_MAX_AGE,
    Channel,
    ConsentAction,
    ConsentEvent,
    PrivacyRequest,
    PrivacyRequestKind,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
)
from .tokens import CONFIRM, preferences_url, privacy_url, token_make
from .validation import control_characters_clean


class MailDeferred(Exception):
    """The mail server could not take the message now (4xx, no connection); try again later."""


def mail_send(
    *,
    to: str,
    language: str,
    template: str,
    context: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> None:
    """Send one transactional email from the subscribers/email/<template> triplet.

    Every text value is cleaned of control characters: a name or an address line is
    written into the body, and a line break there would write lines of its own.
    Raises MailDeferred for a failure worth retrying; a refusal (5xx) raises as it is.
    """
    context = {
        "language": language,
        "site_url": settings.SITE_URL,
        "publisher_name": settings.PUBLISHER_NAME,
        "contact_email": settings.CONTACT_EMAIL,
        **{
            key: control_characters_clean(value) if isinstance(value, str) else value
            for key, value in context.items()
        },
    }
    with translation.override(language):
        subject = render_to_string(f"subscribers/email/{template}_subject.txt", context)
        text = render_to_string(f"subscribers/email/{template}.txt", context)
        html = render_to_string(f"subscribers/email/{template}.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()), body=text, to=[to], headers=headers
    )
    message.attach_alternative(html, "text/html")
    _deliver(message)


def _deliver(message: EmailMultiAlternatives) -> None:
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as error:
        if all(400 <= code < 500 for code, _reply in error.recipients.values()):
            raise MailDeferred(str(error)) from error
        raise
    except smtplib.SMTPResponseException as error:
        if 400 <= error.smtp_code < 500:
            raise MailDeferred(str(error)) from error
        raise
    except OSError as error:  # refused, lost or timed-out connections
        raise MailDeferred(str(error)) from error


def subscriber_mail_send(
    *,
    subscriber: Subscriber,
    template: str,
    context: dict,
    language: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Send a triplet to the subscriber's address, in `language` when given (the one the
    person just chose), else in the subscriber's."""
    mail_send(
        to=subscriber.email,
        language=language or subscriber.language,
        template=template,
        context={"subscriber": subscriber, "name": subscriber.name, **context},
        headers=headers,
    )


def _confirm_url(subscriber: Subscriber) -> str:
    token = token_make(purpose=CONFIRM, subscriber_id=subscriber.pk, email=subscriber.email)
    return settings.SITE_URL + reverse("subscribers:confirm", kwargs={"token": token})


def _preferences_url(subscriber: Subscriber) -> str:
    return preferences_url(subscriber_id=subscriber.pk, email=subscriber.email)


def _event_for_mail(consent_event_id: int, action: str) -> ConsentEvent | None:
    """The event a mail is about, unless the person was erased or purged meanwhile."""
    event = (
        ConsentEvent.objects.select_related("subscriber")
        .filter(pk=consent_event_id, action=action)
        .exclude(subscriber__status=SubscriberStatus.ERASED)
        .first()
    )
    if event is None or event.detail.get("redacted"):
        return None
    return event


def signup_mail_send(*, consent_event_id: int) -> bool:
    """The answer to a sign-up, by mail only: a confirmation link, or the preference link
    for someone already subscribed; nothing for an address staff blocked. True if sent."""
    event = _event_for_mail(consent_event_id, ConsentAction.SUBSCRIBE)
    if event is None:
        return False
    subscriber = event.subscriber
    if (
        Suppression.objects.for_address(subscriber.email)
        .filter(reason=SuppressionReason.MANUAL)
        .exists()
    ):
        # Blocked by staff: never mailed, not even a confirmation.
        return False
    language = event.detail.get("request", {}).get("language") or subscriber.language
    if subscriber.status == SubscriberStatus.ACTIVE:
        template, context = "already_subscribed", {"preferences_url": _preferences_url(subscriber)}
    else:
        template, context = "confirm", {"confirm_url": _confirm_url(subscriber)}
    subscriber_mail_send(
        subscriber=subscriber, template=template, context=context, language=language
    )
    return True


def _address_lines(snapshot: dict[str, Any]) -> list[str]:
    postal = " ".join(part for part in (snapshot["postal_code"], snapshot["city"]) if part)
    return [line for line in (snapshot["street"], postal) if line]


def preferences_changed_mail_send(*, consent_event_id: int) -> bool:
    """Tell the address that its print address or channel was changed: the preference
    link travels with every forwarded newsletter, so the owner must hear of a change."""
    event = _event_for_mail(consent_event_id, ConsentAction.PREFERENCES)
    if event is None:
        return False
    before, after = event.detail["before"], event.detail["after"]
    channels = dict(Channel.choices)
    subscriber = event.subscriber
    subscriber_mail_send(
        subscriber=subscriber,
        template="preferences_changed",
        context={
            "changed_at": event.created_at,
            "channel_changed": before["channel"] != after["channel"],
            "channel_before": channels.get(before["channel"], before["channel"]),
            "channel_after": channels.get(after["channel"], after["channel"]),
            "address_changed": _address_lines(before) != _address_lines(after),
            "address_before": [control_characters_clean(line) for line in _address_lines(before)],
            "address_after": [control_characters_clean(line) for line in _address_lines(after)],
            "preferences_url": _preferences_url(subscriber),
        },
    )
    return True


def privacy_link_mail_send(*, privacy_request_id: int) -> bool:
    """Mail the one-time link of a privacy request to the address it is about."""
    privacy_request = (
        PrivacyRequest.objects.usable()
        .select_related("subscriber")
        .filter(pk=privacy_request_id)
        .exclude(subscriber__status=SubscriberStatus.ERASED)
        .first()
    )
    if privacy_request is None:
        return False  # used, expired or erased meanwhile: a link now would be dead anyway
    subscriber_mail_send(
        subscriber=privacy_request.subscriber,
        template="privacy_link",
        context={
            "kind": privacy_request.kind,
            "privacy_url": privacy_url(privacy_request=privacy_request),
            "valid_minutes": int(PRIVACY_MAX_AGE.total_seconds() // 60),
        },
    )
    return True


def export_done_mail_send(*, privacy_request_id: int) -> bool:
    """Tell the address that its data was downloaded through the one-time link, and when."""
    privacy_request = (
        PrivacyRequest.objects.select_related("subscriber")
        .filter(pk=privacy_request_id, kind=PrivacyRequestKind.EXPORT, used_at__isnull=False)
        .exclude(subscriber__status=SubscriberStatus.ERASED)
        .first()
    )
    if privacy_request is None:
        return False
    subscriber_mail_send(
        subscriber=privacy_request.subscriber,
        template="export_done",
        context={"done_at": privacy_request.used_at},
    )
    return True


def erasure_done_mail_send(*, email: str, language: str) -> None:
    """Tell the former address that its data is erased. The address is no longer in the
    database, so the caller hands it over; nothing else about the person is left to say."""
    mail_send(
        to=email,
        language=language,
        template="erasure_done",
        context={"subscribe_url": settings.SITE_URL + reverse("subscribers:subscribe")},
    )
