"""Recording outcomes, one row at a time, right after the server's reply.

On PostgreSQL the records are written by a second thread with its own connection, so that
the next SMTP conversation does not wait for the previous UPDATE: the pipeline then runs at
the pace of the slower of the two instead of their sum. The queue between them is short, so
the window between a 250 and its record stays a few messages at most, and the batch waits
for the queue to drain before it ends, releases rows or handles an error.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from .models import Delivery, DeliveryStatus

# Records waiting to be written at most; the sender blocks when the writer falls behind.
QUEUE_LENGTH = 4


@dataclass(frozen=True)
class ClaimedDelivery:
    id: int
    attempts: int
    subscriber_id: int
    email: str
    name: str
    language: str


def record_sent(delivery: ClaimedDelivery, *, reply: str, message_id: str) -> None:
    # The hottest statement of the pipeline (once per message): written as fixed SQL so the
    # driver can prepare it once per connection instead of the ORM compiling it each time.
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORD_SENT_SQL,
            [DeliveryStatus.SENT, delivery.email, reply, message_id, now, now, delivery.id],
        )


_RECORD_SENT_SQL = (
    "UPDATE worker_delivery SET status = %s, email = %s, smtp_reply = %s, message_id = %s, "
    "sent_at = %s, finished_at = %s, claimed_until = NULL, last_error = '' "
    "WHERE id = %s AND status = 'sending'"
)


def record_failed(delivery: ClaimedDelivery, *, error: str, reply: str = "") -> None:
    Delivery.objects.filter(pk=delivery.id, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.FAILED,
        last_error=error[:1000],
        smtp_reply=reply[:1000],
        finished_at=timezone.now(),
        claimed_until=None,
    )


def will_retry(delivery: ClaimedDelivery) -> bool:
    return delivery.attempts < settings.DELIVERY_MAX_ATTEMPTS


def record_transient(delivery: ClaimedDelivery, *, error: str) -> None:
    """Back to the queue with exponential backoff; failed once attempts are used up."""
    if not will_retry(delivery):
        record_failed(delivery, error=f"{error} (efter {delivery.attempts} försök)")
        return
    delay = settings.DELIVERY_RETRY_BASE_SECONDS * 2 ** (delivery.attempts - 1)
    Delivery.objects.filter(pk=delivery.id, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.QUEUED,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        last_error=error[:1000],
        claimed_until=None,
    )


def deliveries_release(*, ids: list[int], cancelled: bool = False) -> int:
    """Give back claimed rows that were never tried (pause, cancel, lost connection)."""
    if not ids:
        return 0
    return Delivery.objects.filter(id__in=ids, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.CANCELLED if cancelled else DeliveryStatus.QUEUED,
        attempts=F("attempts") - 1,
        claimed_until=None,
        finished_at=timezone.now() if cancelled else None,
    )


def claims_extend(ids: list[int]) -> None:
    # A slow batch (a low send rate) keeps its claims alive so the sweeper leaves them alone.
    Delivery.objects.filter(id__in=ids, status=DeliveryStatus.SENDING).update(
        claimed_until=timezone.now() + timedelta(seconds=settings.DELIVERY_CLAIM_SECONDS)
    )


def commit_without_flush_wait(on: bool) -> None:
    """Let the per-message records commit without waiting for the WAL flush (PostgreSQL).

    A worker crash loses nothing this way (the server has the commit); only a crash of the
    database server itself could lose the last fraction of a second of records, and those
    messages would then be sent again. It makes recording each message on its own affordable.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF" if on else "RESET synchronous_commit")


class InlineRecorder:
    """Writes each record at once (SQLite, the embedded default: one writer only)."""

    def submit(self, record: Callable[[], None]) -> None:
        record()

    def drain(self) -> None:
        pass

    def close(self) -> None:
        pass


class ThreadRecorder:
    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_LENGTH)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="delivery-recorder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from django.db import connection as thread_connection

        try:
            commit_without_flush_wait(True)
            while True:
                record = self._queue.get()
                try:
                    if record is None:
                        return
                    if self._error is None:
                        record()
                except BaseException as error:  # handed to the sending thread
                    self._error = error
                finally:
                    self._queue.task_done()
        finally:
            thread_connection.close()

    def submit(self, record: Callable[[], None]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(record)

    def drain(self) -> None:
        """Return once every submitted record is written; raise if one failed."""
        self._queue.join()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()


def recorder_make() -> InlineRecorder | ThreadRecorder:
    if connection.vendor == "postgresql":
        return ThreadRecorder()
    return InlineRecorder()
