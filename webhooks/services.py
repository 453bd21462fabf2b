"""Announcing events to registered endpoints, and delivering each announcement.

`webhook_event_emit` is what the other apps call, inside the transaction of the change it
announces: the rows are written with the change (or not at all), and the sending is enqueued
only after the commit. Sending goes through the project's outbound guard (no internal
addresses, a deadline, a size limit), one attempt at a time, on a fixed retry schedule.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from lansnytt.outbound import OutboundError, outbound_fetch

from .models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint, WebhookEvent
from .signing import signed_headers

# After the first attempt, as the Standard Webhooks reference implementation (Svix) retries:
# seconds until the 2nd, 3rd, … attempt. After the last one the delivery is marked failed.
RETRY_SCHEDULE = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
# A claim outlives the longest possible attempt (the outbound deadline) with room to spare.
CLAIM_SECONDS = 120
RESPONSE_KEPT = 1000


def webhook_event_emit(
    *, event: WebhookEvent | str, data: dict, personal_data: dict | None = None
) -> list[int]:
    """Queue one delivery of `event` per active endpoint that chose it.

    `personal_data` (an email address, a name) goes only to endpoints allowed to receive
    personal data; every other endpoint gets `data` alone. Returns the delivery ids.
    """
    event = WebhookEvent(event)
    endpoints = [e for e in WebhookEndpoint.objects.filter(active=True) if event in e.events]
    if not endpoints:
        return []
    now = timezone.now()
    deliveries = []
    for endpoint in endpoints:
        body = dict(data)
        if personal_data and endpoint.personal_data_allowed:
            body.update(personal_data)
        deliveries.append(
            WebhookDelivery(
                endpoint=endpoint,
                message_id=f"msg_{uuid.uuid4().hex}",
                event=event,
                payload={"type": str(event), "timestamp": now.isoformat(), "data": body},
                next_attempt_at=now,
            )
        )
    created = WebhookDelivery.objects.bulk_create(deliveries)
    ids = [delivery.pk for delivery in created]
    transaction.on_commit(lambda: _enqueue(ids))
    return ids


def _enqueue(ids: Iterable[int], *, countdown: float = 0) -> None:
    from .tasks import webhook_delivery_send_task

    for delivery_id in ids:
        webhook_delivery_send_task.apply_async((delivery_id,), countdown=countdown)


def _claim(*, delivery_id: int) -> WebhookDelivery | None:
    now = timezone.now()
    due = Q(status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=WebhookDeliveryStatus.SENDING, claimed_until__lt=now
    )
    claimed = WebhookDelivery.objects.filter(due, pk=delivery_id).update(
        status=WebhookDeliveryStatus.SENDING, claimed_until=now + timedelta(seconds=CLAIM_SECONDS)
    )
    if not claimed:
        return None  # done, not due yet, or another worker has it
    return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)


def webhook_delivery_attempt(*, delivery_id: int) -> float | None:
    """Make one attempt if the delivery is due; return seconds until the next one, or None
    when there is nothing more to do (delivered, failed for good, or not ours to send)."""
    delivery = _claim(delivery_id=delivery_id)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    now = timezone.now()
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":"))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Lansnytt-Webhooks/1",
        **signed_headers(
            secret=endpoint.secret, message_id=delivery.message_id, timestamp=now, body=body
        ),
    }
    status_code, response_text, error = None, "", ""
    if not endpoint.active:
        error = "endpoint inactive"
    else:
        try:
            response = outbound_fetch(
                endpoint.url,
                method="POST",
                body=body.encode(),
                headers=headers,
                deadline=settings.WEBHOOK_TIMEOUT_SECONDS,
                max_bytes=RESPONSE_KEPT,
                max_redirects=0,  # a redirect would drop the body; the endpoint must be exact
            )
            status_code = response.status
            response_text = response.body.decode("utf-8", "replace")[:RESPONSE_KEPT]
        except OutboundError as failure:
            error = failure.message
    delivered = status_code is not None and 200 <= status_code < 300
    attempts = delivery.attempts + 1
    fields = {
        "attempts": attempts,
        "last_status_code": status_code,
        "last_response": response_text,
        "last_error": error[:500],
        "last_attempt_at": now,
        "claimed_until": None,
    }
    retry_in: float | None = None
    if delivered:
        fields.update(status=WebhookDeliveryStatus.DELIVERED, delivered_at=timezone.now())
    elif attempts <= len(RETRY_SCHEDULE) and endpoint.active:
        retry_in = RETRY_SCHEDULE[attempts - 1]
        fields.update(
            status=WebhookDeliveryStatus.PENDING,
            next_attempt_at=timezone.now() + timedelta(seconds=retry_in),
        )
    else:
        fields.update(status=WebhookDeliveryStatus.FAILED, next_attempt_at=None)
    # Only the holder of the claim records the outcome (a sweeper may have taken it back).
    WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDeliveryStatus.SENDING).update(
        **fields
    )
    return retry_in


def webhook_delivery_resend(*, delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """Staff's "send again": the same message (same webhook-id) once more, now."""
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).exclude(
            status=WebhookDeliveryStatus.SENDING
        ).update(
            status=WebhookDeliveryStatus.PENDING, next_attempt_at=timezone.now(), claimed_until=None
        )
        audit_record(
            action=AuditAction.WEBHOOK_RESEND,
            actor=actor,
            target=delivery,
            label=f"{delivery.event} → {delivery.endpoint.url}"[:300],
            detail={"endpoint": delivery.endpoint_id, "message_id": delivery.message_id},
        )
        transaction.on_commit(lambda: _enqueue([delivery.pk]))
    delivery.refresh_from_db()
    return delivery


def webhook_deliveries_due(*, limit: int = 500) -> list[int]:
    """Deliveries the sweeper should hand to a worker: due retries whose task was lost (a
    broker restart, the embedded mode that runs no countdowns) and claims that ran out."""
    now = timezone.now()
    due = Q(status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=WebhookDeliveryStatus.SENDING, claimed_until__lt=now
    )
    return list(WebhookDelivery.objects.filter(due).values_list("pk", flat=True)[:limit])


def webhook_deliveries_sweep() -> int:
    ids = webhook_deliveries_due()
    _enqueue(ids)
    return len(ids)
