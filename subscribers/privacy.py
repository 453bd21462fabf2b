"""Privacy rights: a person's data as JSON and CSV, and erasure.

The same functions serve the preference centre (the person asks) and the admin (staff act on
a request that came by letter).
"""

import io
import json
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from audit.models import AuditAction
from audit.services import PersonViaLink, audit_record
from lansnytt.generated_files import generated_files_forget

from .consent import RequestOrigin, consent_event_log
from .exporting import excel_csv_writer, formula_escape
from .models import (
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    CopyChangeRequest,
    CopyChangeRequestStatus,
    HashVersion,
    SoftBounce,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
)
from .signals import subscriber_erased
from .validation import email_hash

_SUBSCRIBER_FIELDS = (
    "id",
    "email",
    "name",
    "title",
    "organisation_given",
    "language",
    "channel",
    "print_copies",
    "care_of",
    "street",
    "postal_code",
    "city",
    "country",
    "status",
    "legal_basis",
    "protected_identity",
    "created_at",
    "updated_at",
    "confirmed_at",
    "unsubscribed_at",
)
_ORGANISATION_FIELDS = ("id", "name", "kind", "street", "postal_code", "city")
_CONSENT_FIELDS = (
    "created_at",
    "action",
    "source",
    "ip_address",
    "user_agent",
    "privacy_text_version",
    "detail",
)
_DELIVERY_FIELDS = ("dispatch_id", "issue_id", "status", "sent_at")


def _deliveries(subscriber: Subscriber) -> list[dict[str, Any]]:
    """The subscriber's deliveries, when the sending pipeline's model exists in this build."""
    try:
        Delivery = apps.get_model("worker", "Delivery")
    except LookupError:
        return []
    names = {model_field.attname for model_field in Delivery._meta.concrete_fields}
    columns = [name for name in _DELIVERY_FIELDS if name in names]
    if "dispatch_id" in columns and "issue_id" not in columns:
        # The issue hangs off the dispatch; it is what a person recognises.
        try:
            Delivery._meta.get_field("dispatch").related_model._meta.get_field("issue")
            columns.append("dispatch__issue_id")
        except (FieldDoesNotExist, AttributeError):
            pass
    if "subscriber_id" not in names or not columns:
        return []
    return list(
        Delivery.objects.filter(subscriber_id=subscriber.pk).order_by("pk").values(*columns)
    )


def _privacy_actor(*, origin: RequestOrigin, source: str):
    """Who the audit trail names: the staff member, else the person through their link."""
    if origin.staff_user is not None:
        return origin.staff_user
    return PersonViaLink() if source == ConsentSource.EMAIL else None


@transaction.atomic
def subscriber_export(
    *, subscriber: Subscriber, origin: RequestOrigin, source: str, detail: dict | None = None
) -> dict:
    """Everything held about the subscriber, and a consent event saying it was handed out
    (with where the request came from, like every other event), and an audit entry."""
    consent_event_log(
        subscriber=subscriber,
        action=ConsentAction.EXPORT,
        source=source,
        origin=origin,
        detail=detail,
    )
    audit_record(
        action=AuditAction.PERSONAL_DATA_EXPORT,
        actor=_privacy_actor(origin=origin, source=source),
        target=subscriber,
        detail={"source": source, **(detail or {})},
    )
    subscriber = Subscriber.objects.select_related("organisation").get(pk=subscriber.pk)
    organisation = subscriber.organisation
    return {
        "exported_at": timezone.now(),
        "subscriber": {name: getattr(subscriber, name) for name in _SUBSCRIBER_FIELDS},
        "organisation": (
            {name: getattr(organisation, name) for name in _ORGANISATION_FIELDS}
            if organisation
            else None
        ),
        "segments": list(subscriber.segments.order_by("slug").values("slug", "name")),
        "consent_events": list(
            subscriber.consent_events.order_by("created_at", "id").values(*_CONSENT_FIELDS)
        ),
        "copy_change_requests": list(
            subscriber.copy_change_requests.order_by("created_at").values(
                "created_at", "copies_before", "copies_requested", "status", "decided_at"
            )
        ),
        "privacy_requests": list(
            subscriber.privacy_requests.order_by("created_at").values(
                "created_at", "kind", "used_at"
            )
        ),
        "deliveries": _deliveries(subscriber),
    }


def export_json(export: dict) -> str:
    return json.dumps(export, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)


def export_csv(export: dict) -> str:
    """The export as one CSV in long form (section, row, field, value).

    The parts have different columns; the long form keeps them in one file that opens in
    any spreadsheet without losing a value. It is written like the staff export (Swedish
    Excel's dialect), and every cell is formula-escaped: names and browser strings in it
    were typed by whoever signed up, and "=HYPERLINK(...)" must stay text.
    """
    buffer = io.StringIO()
    writer = excel_csv_writer(buffer)

    def row(*cells: Any) -> None:
        writer.writerow([formula_escape(_csv_cell(value)) for value in cells])

    row("section", "row", "field", "value")
    row("export", "", "exported_at", export["exported_at"])
    for section in ("subscriber", "organisation"):
        for name, value in (export[section] or {}).items():
            row(section, "", name, value)
    for section in (
        "segments",
        "consent_events",
        "copy_change_requests",
        "privacy_requests",
        "deliveries",
    ):
        for number, values in enumerate(export.get(section, []), 1):
            for name, value in values.items():
                row(section, number, name, value)
    return buffer.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def erased_email(subscriber_id: int) -> str:
    return f"erased-{subscriber_id}@erased.invalid"


def subscriber_erase(
    *, subscriber: Subscriber, origin: RequestOrigin, source: str, detail: dict | None = None
) -> bool:
    """Anonymise the subscriber; False when they were already erased.

    The row stays (status erased) so counts of past sends and sign-ups stay right, and the
    keyed hash of the address stays on the suppression list so no import can bring it back;
    only a fresh double opt-in by the person can. The consent log keeps what happened and
    when, but its personal details (IP address, browser, the addresses in change details) are
    cleared: after erasure there is nothing left to prove consent for. That is the one
    sanctioned write to the otherwise append-only log (with the purge of stale sign-ups in
    retention.py). The erasure's own event keeps where it was asked from, as every event
    does: it is the evidence that the erasure was the person's wish. Other apps clear their
    copies on `subscriber_erased`; generated files under VAR_DIR that hold the person are
    deleted once the erasure is committed.
    """
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.status == SubscriberStatus.ERASED:
            return False
        address = subscriber.email
        address_hash = email_hash(address)
        _suppression_keep_hash_only(email=address, address_hash=address_hash)
        status_before = subscriber.status
        for name in ("name", "title", "organisation_given", "care_of", "street", "city"):
            setattr(subscriber, name, "")
        subscriber.postal_code = ""
        subscriber.country = ""
        subscriber.email = erased_email(subscriber.pk)
        # Kept: the hash links the row to its suppression entry and nothing else.
        subscriber.email_hash = address_hash
        subscriber.status = SubscriberStatus.ERASED
        subscriber.unsubscribed_at = subscriber.unsubscribed_at or timezone.now()
        subscriber.save()
        ConsentEvent.objects.filter(subscriber=subscriber).update(
            ip_address=None, user_agent="", detail={"redacted": True}
        )
        CopyChangeRequest.objects.filter(
            subscriber=subscriber, status=CopyChangeRequestStatus.PENDING
        ).update(status=CopyChangeRequestStatus.REJECTED, decided_at=timezone.now())
        # The soft-bounce score goes with the person; the suppression entry stays, by hash.
        SoftBounce.objects.filter(email_hash=address_hash).delete()
        subscriber_erased.send(sender=Subscriber, subscriber_id=subscriber.pk, email=address)
        # Written after the clearing, with where the erasure was asked from: the one
        # personal detail kept is the evidence of who had the person erased.
        consent_event_log(
            subscriber=subscriber,
            action=ConsentAction.ERASE,
            source=source,
            origin=origin,
            detail={"status_before": status_before, **(detail or {})},
        )
        audit_record(
            action=AuditAction.ERASURE,
            actor=_privacy_actor(origin=origin, source=source),
            target=subscriber,
            detail={"source": source, "status_before": status_before, **(detail or {})},
        )
        # After the commit, so that a rolled-back erasure leaves the files as they were. In
        # this process, not as a task: a task would put the address on the broker.
        transaction.on_commit(lambda: generated_files_forget(email=address))
    return True


def _suppression_keep_hash_only(*, email: str, address_hash: str) -> None:
    """Make sure the address is suppressed, by its keyed hash and nothing else."""
    suppression = Suppression.objects.for_address(email).select_for_update().first()
    if suppression is None:
        Suppression.objects.create(
            email_hash=address_hash, email="", reason=SuppressionReason.ERASED
        )
        return
    suppression.email = ""
    # Why it was suppressed quotes the mail server, which names the address.
    suppression.detail = ""
    # An entry from before EMAIL_HASH_KEY gets the keyed hash now that the address is known.
    suppression.email_hash = address_hash
    suppression.hash_version = HashVersion.KEYED
    # A block staff set by hand keeps its reason, so that a later opt-in cannot lift it.
    if suppression.reason != SuppressionReason.MANUAL:
        suppression.reason = SuppressionReason.ERASED
    suppression.save(update_fields=["email", "email_hash", "hash_version", "reason", "detail"])


def address_suppressed(*, email: str) -> bool:
    """Whether an address is on the suppression list (also after its owner was erased, and
    for entries hashed before EMAIL_HASH_KEY existed)."""
    return Suppression.objects.for_address(email).exists()
