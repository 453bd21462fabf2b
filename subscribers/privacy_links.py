"""Export and erasure asked for on the self-service pages: a request, a one-time link, the act.

The preference link is in every message and goes wherever a message is forwarded, so all it
can do here is open a request: the one-time link mailed to the address is what hands the
data out or erases it, once, within PRIVACY_MAX_AGE. Each step leaves a consent event with
where it came from, and the address hears of each step by mail (emails.py).
"""

from django.db import transaction
from django.utils import timezone

from .consent import RequestOrigin, consent_event_log
from .models import (
    ConsentAction,
    ConsentSource,
    PrivacyRequest,
    PrivacyRequestKind,
    Subscriber,
)
from .privacy import subscriber_erase, subscriber_export
from .tasks import (
    erasure_done_mail_send_task,
    export_done_mail_send_task,
    privacy_link_mail_send_task,
)

_REQUEST_ACTIONS = {
    PrivacyRequestKind.EXPORT: ConsentAction.EXPORT_REQUEST,
    PrivacyRequestKind.ERASE: ConsentAction.ERASE_REQUEST,
}


class PrivacyLinkUsed(Exception):
    """The one-time link was used already (or its time ran out): nothing was done."""


def privacy_request_open(
    *, subscriber: Subscriber, kind: str, origin: RequestOrigin
) -> PrivacyRequest:
    """Record the request and mail its one-time link to the subscriber's address."""
    with transaction.atomic():
        privacy_request = PrivacyRequest.objects.create(subscriber=subscriber, kind=kind)
        consent_event_log(
            subscriber=subscriber,
            action=_REQUEST_ACTIONS[kind],
            source=ConsentSource.WEB,
            origin=origin,
            detail={"privacy_request": privacy_request.pk},
        )
        transaction.on_commit(lambda: privacy_link_mail_send_task.delay(privacy_request.pk))
    return privacy_request


def _claim(privacy_request: PrivacyRequest, kind: str) -> None:
    """Mark the request used or raise PrivacyLinkUsed, in the caller's transaction.

    One conditional UPDATE: of two clicks at the same moment, the second waits for the
    first one's row lock, then finds used_at set and claims nothing. Reading used_at first
    and writing it after would let both through.
    """
    claimed = (
        PrivacyRequest.objects.usable()
        .filter(pk=privacy_request.pk, kind=kind)
        .update(used_at=timezone.now())
    )
    if claimed != 1:
        raise PrivacyLinkUsed(f"privacy request {privacy_request.pk} was used or expired")


def privacy_export_carry_out(*, privacy_request: PrivacyRequest, origin: RequestOrigin) -> dict:
    """Use the link and return the person's data; raises PrivacyLinkUsed.

    All in one transaction: if building the export fails, the link stays unused.
    """
    with transaction.atomic():
        _claim(privacy_request, PrivacyRequestKind.EXPORT)
        export = subscriber_export(
            subscriber=privacy_request.subscriber,
            origin=origin,
            source=ConsentSource.EMAIL,
            detail={"privacy_request": privacy_request.pk},
        )
        transaction.on_commit(lambda: export_done_mail_send_task.delay(privacy_request.pk))
    return export


def privacy_erase_carry_out(*, privacy_request: PrivacyRequest, origin: RequestOrigin) -> None:
    """Use the link and erase the person; raises PrivacyLinkUsed."""
    with transaction.atomic():
        _claim(privacy_request, PrivacyRequestKind.ERASE)
        subscriber = Subscriber.objects.select_for_update().get(pk=privacy_request.subscriber_id)
        # The notice goes to the address as it was: erasure replaces it in the row.
        email, language = subscriber.email, subscriber.language
        subscriber_erase(
            subscriber=subscriber,
            origin=origin,
            source=ConsentSource.EMAIL,
            detail={"privacy_request": privacy_request.pk},
        )
        transaction.on_commit(lambda: erasure_done_mail_send_task.delay(email, language))
