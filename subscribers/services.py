"""Writes of subscriber self-service: subscribe, confirm, change preferences, unsubscribe.

Views, admin actions and commands call these; each is one transaction and leaves a
ConsentEvent, so what a person agreed to can always be shown afterwards.
"""

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_emit

from .consent import RequestOrigin, consent_event_log
from .emails import subscriber_mail_send  # noqa: F401  (callers send triplets through here)
from .models import (
    PRINT_CHANNELS,
    Channel,
    ConsentAction,
    ConsentSource,
    CopyChangeRequest,
    CopyChangeRequestStatus,
    Language,
    LegalBasis,
    Organisation,
    Segment,
    Subscriber,
    SubscriberStatus,
    SuppressionReason,
)
from .suppressions import person_actor, suppression_ensure, suppressions_lift
from .tasks import (
    preferences_changed_mail_send_task,
    signup_mail_send_task,
    welcome_mail_send_task,
)
from .tokens import PREFERENCES, token_make, unsubscribe_url
from .validation import email_normalise


@dataclass(frozen=True)
class SubscribeRequest:
    """What a person asked for in the subscribe form (already validated)."""

    name: str
    email: str
    organisation_given: str = ""
    segment_ids: list[int] = field(default_factory=list)
    channel: str = "email"
    language: str = "sv"
    street: str = ""
    postal_code: str = ""
    city: str = ""

    def as_detail(self) -> dict[str, Any]:
        detail = {key: value for key, value in self.__dict__.items() if key != "email"}
        detail["segments"] = list(
            Segment.objects.filter(pk__in=self.segment_ids).values_list("slug", flat=True)
        )
        return detail


# Suppressions a fresh confirmed opt-in lifts: the person has just proved the address works
# and that they want the mail. A manual block by staff stays until staff lift it.
_LIFTED_BY_OPT_IN = (
    SuppressionReason.UNSUBSCRIBED,
    SuppressionReason.BOUNCED,
    SuppressionReason.COMPLAINT,
    SuppressionReason.ERASED,
)


def subscriber_subscribe(*, request: SubscribeRequest, origin: RequestOrigin) -> None:
    """Record a subscription request; the email that completes it is sent by a task.

    Returns nothing on purpose: the caller must answer the same whether the address was
    known or not. A new or inactive address gets a confirmation link (double opt-in: the
    subscriber stays as they were until they confirm), an active one a reminder with its
    preference link, an address staff blocked nothing (emails.signup_mail_send decides).
    The request itself does the same for all of them, one transaction and one task after
    commit, so neither its answer nor its time tells a stranger which one the address is.
    """
    email = email_normalise(request.email)
    detail = request.as_detail()
    with transaction.atomic():
        # A new row gets what was asked for in its one INSERT: the less a new address costs
        # beyond a known one, the less the time of the answer says about the address.
        subscriber, created = Subscriber.objects.select_for_update().get_or_create(
            email=email,
            defaults={
                "status": SubscriberStatus.PENDING,
                "legal_basis": LegalBasis.CONSENT,
                **_request_fields(detail=detail, organisation_id=None),
            },
        )
        if created and detail.get("segment_ids"):
            public_segments_choose(subscriber=subscriber, segment_ids=detail["segment_ids"])
        event = consent_event_log(
            subscriber=subscriber,
            action=ConsentAction.SUBSCRIBE,
            source=ConsentSource.WEB,
            origin=origin,
            privacy_text_version=settings.PRIVACY_TEXT_VERSION,
            detail={"request": detail, "status_before": "new" if created else subscriber.status},
        )
        transaction.on_commit(lambda: signup_mail_send_task.delay(event.pk))


def _request_fields(*, detail: dict[str, Any], organisation_id: int | None) -> dict[str, Any]:
    """The row's fields from what the person asked for (on sign-up and on confirmation)."""
    fields = {
        "name": detail.get("name", ""),
        "organisation_given": detail.get("organisation_given", ""),
        "channel": detail.get("channel", Channel.EMAIL),
        "language": detail.get("language", Language.SWEDISH),
        "street": detail.get("street", ""),
        "postal_code": detail.get("postal_code", ""),
        "city": detail.get("city", ""),
    }
    if organisation_id is None and fields["organisation_given"]:
        # Staff link the rest by hand; an exact match is safe to take.
        fields["organisation"] = Organisation.objects.filter(
            name__iexact=fields["organisation_given"]
        ).first()
    return fields


def _request_apply(*, subscriber: Subscriber, detail: dict[str, Any]) -> None:
    """Copy what the person asked for onto the row (on confirmation)."""
    fields = _request_fields(detail=detail, organisation_id=subscriber.organisation_id)
    fields["name"] = detail.get("name", subscriber.name)
    fields["channel"] = detail.get("channel", subscriber.channel)
    fields["language"] = detail.get("language", subscriber.language)
    for name, value in fields.items():
        setattr(subscriber, name, value)
    subscriber.save()
    public_segments_choose(subscriber=subscriber, segment_ids=detail.get("segment_ids", []))


def public_segments_choose(*, subscriber: Subscriber, segment_ids: list[int]) -> None:
    """Make the person's public segments exactly the chosen ones (sign-up and preferences).

    Only the publicly offered segments are the person's to choose; memberships staff gave
    stay as they are, and an id of a non-public segment is ignored.
    """
    public = Segment.objects.filter(public=True)
    wanted = public.filter(pk__in=segment_ids)
    subscriber.segments.remove(*public.exclude(pk__in=wanted))
    subscriber.segments.add(*wanted)


class ConfirmationStale(Exception):
    """The person left after this confirmation link was sent; only a new sign-up counts."""


def subscriber_confirm(*, subscriber: Subscriber, origin: RequestOrigin) -> bool:
    """Complete the double opt-in; True when this call activated the subscriber.

    Raises ConfirmationStale when the latest sign-up is older than the latest unsubscribe
    or bounce: an old, still unexpired link must not undo a withdrawal.
    """
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.status == SubscriberStatus.ACTIVE:
            return False
        latest = (
            subscriber.consent_events.filter(
                action__in=(
                    ConsentAction.SUBSCRIBE,
                    ConsentAction.UNSUBSCRIBE,
                    ConsentAction.BOUNCE,
                )
            )
            .order_by("-created_at", "-id")
            .first()
        )
        if latest is not None and latest.action != ConsentAction.SUBSCRIBE:
            raise ConfirmationStale(f"subscriber {subscriber.pk} left after signing up")
        subscribe_event = latest
        if subscribe_event is not None and "request" in subscribe_event.detail:
            _request_apply(subscriber=subscriber, detail=subscribe_event.detail["request"])
        status_before = subscriber.status
        subscriber.status = SubscriberStatus.ACTIVE
        subscriber.confirmed_at = timezone.now()
        subscriber.unsubscribed_at = None
        subscriber.legal_basis = LegalBasis.CONSENT
        subscriber.save()
        lifted = suppressions_lift(
            email=subscriber.email, reasons=_LIFTED_BY_OPT_IN, actor=person_actor(origin)
        )
        confirmed = consent_event_log(
            subscriber=subscriber,
            action=ConsentAction.CONFIRM,
            source=ConsentSource.EMAIL,
            origin=origin,
            privacy_text_version=(subscribe_event.privacy_text_version if subscribe_event else ""),
            detail={"status_before": status_before, "suppression_lifted": lifted},
        )
        if settings.WELCOME_EMAIL_ENABLED:
            # Only the call that activated the subscriber gets here: one welcome per sign-up.
            transaction.on_commit(lambda: welcome_mail_send_task.delay(confirmed.pk))
    return True


# Where and how the magazine goes: a change of these is confirmed to the address by mail,
# because whoever holds a forwarded preference link could redirect someone's print copy.
_NOTIFIED_FIELDS = ("channel", "street", "postal_code", "city")


def _preferences_snapshot(subscriber: Subscriber) -> dict[str, Any]:
    return {
        "segments": sorted(subscriber.segments.values_list("slug", flat=True)),
        "channel": subscriber.channel,
        "language": subscriber.language,
        "street": subscriber.street,
        "postal_code": subscriber.postal_code,
        "city": subscriber.city,
        "print_copies": subscriber.print_copies,
    }


def subscriber_preferences_update(
    *,
    subscriber: Subscriber,
    segment_ids: list[int],
    channel: str,
    language: str,
    street: str,
    postal_code: str,
    city: str,
    print_copies: int | None,
    origin: RequestOrigin,
) -> CopyChangeRequest | None:
    """Apply the preference centre's form; returns the copy change request it opened, if any.

    A change of copies by an organisation contact is not applied but waits for staff.
    """
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        before = _preferences_snapshot(subscriber)
        subscriber.channel = channel
        subscriber.language = language
        subscriber.street, subscriber.postal_code, subscriber.city = street, postal_code, city
        subscriber.save()
        public_segments_choose(subscriber=subscriber, segment_ids=segment_ids)
        after = _preferences_snapshot(subscriber)

        change_request = None
        current_copies = subscriber.print_copies_current
        if (
            subscriber.organisation_id
            and channel in PRINT_CHANNELS
            and print_copies is not None
            and print_copies != current_copies
        ):
            CopyChangeRequest.objects.filter(
                subscriber=subscriber, status=CopyChangeRequestStatus.PENDING
            ).delete()
            change_request = CopyChangeRequest.objects.create(
                subscriber=subscriber,
                organisation_id=subscriber.organisation_id,
                copies_before=current_copies,
                copies_requested=print_copies,
            )
        if before != after or change_request:
            detail: dict[str, Any] = {"before": before, "after": after}
            if change_request:
                detail["print_copies_requested"] = print_copies
            event = consent_event_log(
                subscriber=subscriber,
                action=ConsentAction.PREFERENCES,
                source=ConsentSource.WEB,
                origin=origin,
                detail=detail,
            )
            if any(before[name] != after[name] for name in _NOTIFIED_FIELDS):
                transaction.on_commit(lambda: preferences_changed_mail_send_task.delay(event.pk))
    return change_request


def copy_change_request_decide(
    *, change_request: CopyChangeRequest, approve: bool, origin: RequestOrigin
) -> bool:
    """Staff approve or reject a pending copy change; False when it was already decided."""
    with transaction.atomic():
        change_request = CopyChangeRequest.objects.select_for_update().get(pk=change_request.pk)
        if change_request.status != CopyChangeRequestStatus.PENDING:
            return False
        change_request.status = (
            CopyChangeRequestStatus.APPROVED if approve else CopyChangeRequestStatus.REJECTED
        )
        change_request.decided_at = timezone.now()
        change_request.decided_by = origin.staff_user
        change_request.save()
        if approve:
            subscriber = (
                Subscriber.objects.select_for_update(of=("self",))
                .select_related("organisation")
                .get(pk=change_request.subscriber_id)
            )
            # The count that decides the print line: the organisation's for a contact
            # without an own address, else the person's.
            owner = subscriber.print_line_owner
            before = owner.print_copies
            owner.print_copies = change_request.copies_requested
            owner.save(update_fields=["print_copies", "updated_at"])
            consent_event_log(
                subscriber=subscriber,
                action=ConsentAction.ADMIN,
                source=ConsentSource.ADMIN,
                origin=origin,
                detail={
                    "before": {"print_copies": before},
                    "after": {"print_copies": owner.print_copies},
                    "applies_to": "organisation" if owner is not subscriber else "subscriber",
                    "copy_change_request": change_request.pk,
                },
            )
    return True


def subscriber_unsubscribe(
    *, subscriber: Subscriber, source: str, origin: RequestOrigin, dispatch_id: int | None = None
) -> bool:
    """Stop all mail to the subscriber; True when this call changed anything.

    `dispatch_id` is the dispatch whose message carried the link (from the signed token);
    the event keeps it so the report counts the unsubscribe against that issue.

    Idempotent: a second call (the mail provider's POST and the person's click) finds the
    work done. The suppression entry is what a running dispatch checks when it claims a
    delivery, so it must exist even if the status was already final.
    """
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        changed = subscriber.status in (SubscriberStatus.PENDING, SubscriberStatus.ACTIVE)
        if changed:
            status_before = subscriber.status
            subscriber.status = SubscriberStatus.UNSUBSCRIBED
            subscriber.unsubscribed_at = timezone.now()
            subscriber.save(update_fields=["status", "unsubscribed_at", "updated_at"])
            consent_event_log(
                subscriber=subscriber,
                action=ConsentAction.UNSUBSCRIBE,
                source=source,
                origin=origin,
                detail={
                    "status_before": status_before,
                    **({"dispatch_id": dispatch_id} if dispatch_id else {}),
                },
            )
        suppression_ensure(
            email=subscriber.email,
            email_hash=subscriber.email_hash,
            reason=SuppressionReason.UNSUBSCRIBED,
            actor=person_actor(origin),
        )
        if changed:
            # The address only to endpoints allowed personal data (a CRM that must stop too).
            webhook_event_emit(
                event=WebhookEvent.SUBSCRIBER_UNSUBSCRIBED,
                data={"source": source, "unsubscribed_at": subscriber.unsubscribed_at.isoformat()},
                personal_data={
                    "subscriber": subscriber.pk,
                    "email": subscriber.email,
                    "name": subscriber.name,
                },
            )
    return changed


def subscriber_links(*, subscriber: Subscriber) -> dict[str, str]:
    """The personal links on the self-service pages, as paths on the site being visited."""
    token = token_make(purpose=PREFERENCES, subscriber_id=subscriber.pk, email=subscriber.email)
    return {
        "preferences_url": reverse("subscribers:preferences", kwargs={"token": token}),
        "privacy_request_url": reverse("subscribers:privacy_request", kwargs={"token": token}),
        "unsubscribe_url": urlsplit(
            unsubscribe_url(subscriber_id=subscriber.pk, email=subscriber.email)
        ).path,
    }
