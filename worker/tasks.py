"""Celery tasks: thin, idempotent, taking IDs. The work is in services, batches and sending.

Tasks import the code they run inside their bodies, and services import tasks at the top to
enqueue them on commit: that one convention keeps the import graph free of cycles.
"""

from celery import shared_task


@shared_task
def dispatch_start_task(dispatch_id: int) -> None:
    from .batches import dispatch_fan_out

    dispatch_fan_out(dispatch_id=dispatch_id)


@shared_task
def delivery_batch_send_task(dispatch_id: int) -> None:
    from .batches import delivery_batch_run

    delivery_batch_run(dispatch_id=dispatch_id)


@shared_task
def deliveries_sweep_task() -> None:
    from .services import deliveries_sweep

    deliveries_sweep()


@shared_task
def dispatches_due_task() -> None:
    from .services import dispatches_start_due

    dispatches_start_due()


@shared_task(soft_time_limit=600, time_limit=660)
def bounce_mailbox_poll_task() -> None:
    from .bounces.mailbox import bounce_mailbox_poll

    result = bounce_mailbox_poll()
    if result.left:
        # A flood is read in bounded polls, one after the other, not in one endless task.
        bounce_mailbox_poll_task.apply_async(countdown=1)


@shared_task
def records_purge_task() -> None:
    from .retention import records_purge

    records_purge()
