"""Thin tasks: each looks its row up and does nothing if the work is done or not due."""

from celery import shared_task
from django.conf import settings


@shared_task(name="webhooks.webhook_delivery_send_task", ignore_result=True)
def webhook_delivery_send_task(delivery_id: int) -> None:
    from .services import _enqueue, webhook_delivery_attempt

    retry_in = webhook_delivery_attempt(delivery_id=delivery_id)
    # In the embedded mode tasks run in-process and a countdown would run at once; the row
    # keeps its next_attempt_at and waits for a sweep instead.
    if retry_in is not None and not settings.CELERY_TASK_ALWAYS_EAGER:
        _enqueue([delivery_id], countdown=retry_in)


@shared_task(name="webhooks.webhook_deliveries_sweep_task", ignore_result=True)
def webhook_deliveries_sweep_task() -> int:
    from .services import webhook_deliveries_sweep

    return webhook_deliveries_sweep()
