"""Celery tasks: thin, idempotent, taking IDs. The work is in services, batches and sending."""

from celery import shared_task

from . import batches, services


@shared_task
def dispatch_start_task(dispatch_id: int) -> None:
    batches.dispatch_fan_out(dispatch_id=dispatch_id)


@shared_task
def delivery_batch_send_task(dispatch_id: int) -> None:
    batches.delivery_batch_run(dispatch_id=dispatch_id)


@shared_task
def deliveries_sweep_task() -> None:
    services.deliveries_sweep()


@shared_task
def dispatches_due_task() -> None:
    services.dispatches_start_due()
