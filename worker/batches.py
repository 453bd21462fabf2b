"""How batches are handed out: fan-out at start, self-continuation, and the in-process loop.

With a broker, starting a dispatch enqueues up to SEND_PARALLEL_BATCHES batch tasks; each
claims one batch, sends it and, if it found a full batch, enqueues its successor. A batch
holds one of the dispatch's SEND_PARALLEL_BATCHES slots while it works (slots.BatchSlots),
so however often a dispatch is paused and resumed, no more batches than that are ever at
work at once: a task that finds no slot free ends its chain. Without
a broker (the embedded default) tasks run eagerly, and enqueueing from inside a task would
recurse once per batch, so the start task loops over batches in this process instead.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.utils import timezone

from .connections import reconnecting
from .models import Delivery, DeliveryStatus, Dispatch, DispatchStatus
from .ratelimit import SendRate
from .sending import BatchResult, delivery_batch_send
from .services import dispatch_finish_if_complete, dispatch_pause_if_failing, next_attempt_due
from .tasks import delivery_batch_send_task


def tasks_run_in_process() -> bool:
    from .celery import app

    return bool(app.conf.task_always_eager)


def dispatch_fan_out(*, dispatch_id: int) -> int:
    """Enqueue the first batch tasks of a sending dispatch; returns how many."""
    if tasks_run_in_process():
        dispatch_run_in_process(dispatch_id=dispatch_id)
        return 0

    if not Dispatch.objects.filter(pk=dispatch_id, status=DispatchStatus.SENDING).exists():
        return 0
    queued = Delivery.objects.filter(dispatch_id=dispatch_id, status=DeliveryStatus.QUEUED).count()
    batches = min(math.ceil(queued / settings.SEND_BATCH_SIZE), settings.SEND_PARALLEL_BATCHES)
    for _ in range(batches):
        delivery_batch_send_task.delay(dispatch_id)
    if not batches:
        dispatch_finish_if_complete(dispatch_id=dispatch_id)
    return batches


def _sending(dispatch_id: int) -> bool:
    return Dispatch.objects.filter(pk=dispatch_id, status=DispatchStatus.SENDING).exists()


def _after_batch(*, dispatch_id: int, result: BatchResult) -> None:
    if result.failed:
        dispatch_pause_if_failing(dispatch_id=dispatch_id)
    if result.claimed < settings.SEND_BATCH_SIZE:
        dispatch_finish_if_complete(dispatch_id=dispatch_id)


def delivery_batch_run(*, dispatch_id: int) -> BatchResult:
    """One batch, then whatever should follow it (run by the batch task)."""

    result = delivery_batch_send(dispatch_id=dispatch_id, parallel=True)
    if result.parallel_full:
        # SEND_PARALLEL_BATCHES batches are at work, each with a successor to come: this
        # chain is one too many (a resume's fan-out while the old chains still ran).
        return result
    if result.stopped:
        if not result.lease_lost and reconnecting(lambda: _sending(dispatch_id)):
            # Paused and resumed while this batch was stopping: the resume's fan-out may
            # have found this batch's slot still taken, so the chain goes on here. At most
            # SEND_PARALLEL_BATCHES of the tasks about take a slot; the others end.
            delivery_batch_send_task.delay(dispatch_id)
        return result
    if result.relay_busy:
        # Other batches hold every connection the relay allows; try again shortly.
        if not tasks_run_in_process():
            delivery_batch_send_task.apply_async(
                (dispatch_id,), countdown=settings.SEND_RELAY_BUSY_RETRY_SECONDS
            )
        return result
    # The batch's connection may have died while it sent (worker/connections.py); what
    # follows only reads or makes conditional updates, so it may run again on a new one.
    reconnecting(lambda: _after_batch(dispatch_id=dispatch_id, result=result))
    if tasks_run_in_process():
        return result
    if result.transport_down:
        # Claiming the next batch at once would only fail again, in a tight loop.
        delivery_batch_send_task.apply_async(
            (dispatch_id,), countdown=settings.SEND_TRANSPORT_RETRY_SECONDS
        )
    elif result.claimed >= settings.SEND_BATCH_SIZE:
        delivery_batch_send_task.delay(dispatch_id)
    else:
        # Rows waiting for a retry: come back when the first is due.
        due = reconnecting(lambda: next_attempt_due(dispatch_id=dispatch_id))
        if due is not None:
            delay = max((due - timezone.now()).total_seconds(), 0) + 0.5
            delivery_batch_send_task.apply_async((dispatch_id,), countdown=delay)
    return result


def dispatch_run_in_process(*, dispatch_id: int) -> None:
    """Send the whole dispatch here, batch after batch, waiting out retry backoffs."""
    rate = SendRate()
    while True:
        result = delivery_batch_send(dispatch_id=dispatch_id, rate=rate)
        if result.stopped:
            return
        if result.relay_busy:
            time.sleep(settings.SEND_RELAY_BUSY_RETRY_SECONDS)
            continue
        _after_batch(dispatch_id=dispatch_id, result=result)
        if result.transport_down:
            time.sleep(settings.SEND_TRANSPORT_RETRY_SECONDS)
            continue
        if result.claimed:
            continue
        due = next_attempt_due(dispatch_id=dispatch_id)
        if due is None:
            dispatch_finish_if_complete(dispatch_id=dispatch_id)
            return
        time.sleep(max((due - timezone.now()).total_seconds(), 0) + 0.1)
