"""Recording outcomes right after the server's reply.

On PostgreSQL the records are written by a second thread with its own connection, so that
the next SMTP conversation does not wait for the previous UPDATE: the pipeline then runs at
the pace of the slower of the two instead of their sum. The writer works like a database
group commit: whenever it is free it takes every record waiting (after a linger of 2 ms) and
writes the "sent" ones in one UPDATE, so its cost per message falls as the pace rises instead
of capping it. No record waits for a count: each is written once the writer is free. The queue
between the threads is short, so the window between a 250 and its record stays a few
messages at most, and the batch waits for the queue to drain before it ends, releases rows
or handles an error.

The records commit without waiting for the WAL flush (`commit_without_flush_wait`). A lost
connection (a terminated backend, a restarted database) is retried on a new one for up to a
lease, and the batch's records are then all written again, so those a crashed PostgreSQL
lost are restored; each batch ends with one commit that waits for the flush. README:
"When Redis or the database fails".
"""

from __future__ import annotations

import collections
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from subscribers.services_bounce import subscriber_mark_bounced

from .connections import (
    CONNECTION_ERRORS,
    bigint_array,
    connection_lost,
    deadlocked,
    prepared_cursor,
)
from .models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

# Records not yet written at most, counting those the writer is writing: the sender blocks
# when the writer falls behind. With the one message whose record the sender is waiting to
# hand over, QUEUE_LENGTH + 1 bounds the messages a killed batch leaves accepted (250) but
# unrecorded, which are the only ones sent twice after a crash.
QUEUE_LENGTH = 32
# "sent" records kept to write again after a lost connection (ThreadRecorder._written) at
# most: then one commit waits for the flush, which makes all of them durable, and they are
# let go. Keeps a batch's memory flat however long it refills, for one flush per this many.
DURABLE_EVERY = 2000
# Times the writer runs a write again that PostgreSQL ended to break a deadlock, before the
# error goes to the batch: one is what a deadlock with another writer of the same rows needs.
DEADLOCK_RETRIES = 3
# After the first record of a group the writer waits for more, checking every LINGER_SECONDS,
# until GROUP_TARGET records are waiting or GROUP_WAIT_SECONDS have passed: one UPDATE for
# a dozen rows costs the worker and PostgreSQL little more than one for a single row. Near
# the sink records arrive in a stream and a group fills within a few milliseconds; from a
# relay 20 ms away they trickle in (each connection has one reply per round trip): a fixed
# 2 ms wait wrote groups of about 9 there, this one about 19 (bench/profile_batch.py
# --relay-ms 20, 5,000 messages over 32 connections). The wait adds at most
# GROUP_WAIT_SECONDS to the time between a 250 and its record, never to how many records
# can wait: that stays QUEUE_LENGTH, which is what bounds the duplicates after a crash.
LINGER_SECONDS = 0.002
GROUP_TARGET = 16
GROUP_WAIT_SECONDS = 0.02


@dataclass(frozen=True)
class ClaimedDelivery:
    id: int
    attempts: int
    subscriber_id: int
    email: str
    name: str
    language: str
    claim: uuid.UUID  # the batch's claim token: every write below is limited to it
    # The subscriber's stored address hash, read with the claim: what their links are
    # checked against (subscribers/tokens.py), so not computed again for every message.
    address_hash: str = ""


@dataclass(frozen=True)
class SentRecord:
    """A message the server accepted (250), waiting to be written."""

    delivery: ClaimedDelivery
    reply: str
    message_id: str
    sent_at: datetime


def records_sent_write(records: list[SentRecord]) -> int:
    """Mark the deliveries sent, in one statement however many there are; returns how many
    rows changed (rows already sent, or no longer the batch's, are left alone).

    Fixed SQL rather than the ORM: this is the hottest statement of the pipeline.
    """
    if not records:
        return 0
    # In id order, so that the UPDATE locks its rows in the order the heartbeat's renewal
    # and the releases lock theirs (by index): two writers of the same rows that lock them
    # in one order cannot deadlock (connections.deadlocked).
    records = sorted(records, key=_record_id)
    if connection.vendor == "postgresql":
        with prepared_cursor() as cursor:
            cursor.execute(_RECORDS_SENT_SQL, records_sent_params(records))
            return cursor.rowcount
    with connection.cursor() as cursor:
        cursor.executemany(
            _RECORD_SENT_SQL,
            [
                (
                    DeliveryStatus.SENT,
                    record.delivery.email,
                    record.reply,
                    record.message_id,
                    record.sent_at,
                    record.sent_at,
                    record.delivery.id,
                    record.delivery.claim.hex,
                )
                for record in records
            ],
        )
        return cursor.rowcount


def records_sent_params(records: list[SentRecord]) -> list[str]:
    """_RECORDS_SENT_SQL's parameters for these records (in id order).

    The records as one JSON parameter: the statement is the same text for any number of
    records (nothing is parsed anew per group), and json.dumps (C) is far cheaper than
    psycopg adapting a value at a time, on a thread that shares the GIL with the
    connections. (Arrays instead of objects cost PostgreSQL nearly twice as much per record
    as json, each value taken out parsing the array again, and no less as jsonb.) A group's
    records share a claim or two, one
    token object per claim (a UUID hashes in Python): each is turned into text once, found
    by identity.
    """
    claims: dict[int, str] = {}
    rows = []
    for record in records:
        delivery = record.delivery
        claim = claims.get(id(delivery.claim))
        if claim is None:
            claim = claims[id(delivery.claim)] = str(delivery.claim)
        rows.append(
            {
                "i": delivery.id,
                "c": claim,
                "e": delivery.email,
                "r": record.reply,
                "m": record.message_id,
                "t": record.sent_at.isoformat(),
            }
        )
    return [json.dumps(rows, ensure_ascii=False), bigint_array([row["i"] for row in rows])]


def _record_id(record: SentRecord) -> int:
    return record.delivery.id


# The ids once more as an array, which PostgreSQL can count: it takes a JSON function for a
# hundred rows whatever it holds, and with statistics from when every row was queued it
# expects one row "sending". Joining a hundred rows to one looked cheaper as one pass over
# the whole table than as a hundred lookups by id in a table of 5,000 rows, so every group
# read every delivery (bench/profile_batch.py --n 5000: PostgreSQL spent more per message
# than the worker). By the array the rows are looked up by id.
_RECORDS_SENT_SQL = (
    "UPDATE worker_delivery AS d SET status = 'sent', email = v.e, smtp_reply = v.r, "
    "message_id = v.m, sent_at = v.t, finished_at = v.t, "
    "claimed_until = NULL, claim_token = NULL, last_error = '' "
    "FROM json_to_recordset(%s::json) "
    "AS v(i bigint, c uuid, e text, r text, m text, t timestamptz) "
    "WHERE d.id = ANY(%s::bigint[]) AND d.id = v.i AND d.status = 'sending' AND d.claim_token = v.c"
)
_RECORD_SENT_SQL = (
    "UPDATE worker_delivery SET status = %s, email = %s, smtp_reply = %s, message_id = %s, "
    "sent_at = %s, finished_at = %s, claimed_until = NULL, claim_token = NULL, last_error = '' "
    "WHERE id = %s AND status = 'sending' AND claim_token = %s"
)


def _own(delivery: ClaimedDelivery):
    return Delivery.objects.filter(
        pk=delivery.id, status=DeliveryStatus.SENDING, claim_token=delivery.claim
    )


def record_failed(delivery: ClaimedDelivery, *, error: str, reply: str = "") -> None:
    _own(delivery).update(
        status=DeliveryStatus.FAILED,
        last_error=error[:1000],
        smtp_reply=reply[:1000],
        finished_at=timezone.now(),
        claimed_until=None,
        claim_token=None,
    )


def record_refused(delivery: ClaimedDelivery, *, refusal: str, bounce: bool) -> None:
    """A permanent refusal: failed, and an unknown recipient is marked bounced."""
    record_failed(delivery, error=refusal, reply=refusal)
    if bounce:
        subscriber_mark_bounced(
            subscriber_id=delivery.subscriber_id, email=delivery.email, reply=refusal
        )


def will_retry(delivery: ClaimedDelivery) -> bool:
    return delivery.attempts < settings.DELIVERY_MAX_ATTEMPTS


def record_transient(delivery: ClaimedDelivery, *, error: str) -> None:
    """Back to the queue with exponential backoff; failed once attempts are used up."""
    if not will_retry(delivery):
        record_failed(delivery, error=f"{error} (efter {delivery.attempts} försök)")
        return
    delay = settings.DELIVERY_RETRY_BASE_SECONDS * 2 ** (delivery.attempts - 1)
    _own(delivery).update(
        status=DeliveryStatus.QUEUED,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        last_error=error[:1000],
        claimed_until=None,
        claim_token=None,
    )


def deliveries_release(
    *, ids: list[int], claim: uuid.UUID, cancelled: bool = False, retry_in: float | None = None
) -> int:
    """Give back claimed rows that were never tried (pause, cancel, lost connection).

    `retry_in` (seconds) keeps them from being claimed again before then: rows given back
    because the mail server is down wait SEND_TRANSPORT_RETRY_SECONDS, whoever claims next
    (without it the sweeper, finding due rows and no batch at work, would start new batches
    against the dead server every sweep).
    """
    if not ids:
        return 0
    changes = {}
    if retry_in is not None:
        changes["next_attempt_at"] = timezone.now() + timedelta(seconds=retry_in)
    return Delivery.objects.filter(
        id__in=ids, status=DeliveryStatus.SENDING, claim_token=claim
    ).update(
        status=DeliveryStatus.CANCELLED if cancelled else DeliveryStatus.QUEUED,
        attempts=F("attempts") - 1,
        claimed_until=None,
        claim_token=None,
        finished_at=timezone.now() if cancelled else None,
        **changes,
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


def records_make_durable(record: SentRecord) -> None:
    """Return once every record written so far is on disk (PostgreSQL).

    A commit that waits for the WAL flush flushes the WAL up to itself, and with it every
    earlier commit that did not wait. The batch's last act is one such commit, so a database
    crash can only lose records of batches still at work, which write theirs again when they
    reconnect (ThreadRecorder): none is lost for good, and no message goes out twice for it.
    It needs a real write (a transaction that writes nothing commits without a flush): the
    last sent row, rewritten unchanged.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO ON")
        cursor.execute(
            "UPDATE worker_delivery SET sent_at = sent_at WHERE id = %s", [record.delivery.id]
        )


class InlineRecorder:
    """Writes each record at once (SQLite, the embedded default: one writer only)."""

    def sent(self, record: SentRecord) -> None:
        records_sent_write([record])

    def submit(self, record: Callable[[], None]) -> None:
        record()

    def submit_nowait(self, record) -> bool:
        self.submit(record)
        return True

    def when_free(self, callback: Callable[[], None]) -> None:
        callback()  # never full

    def drain(self) -> None:
        pass

    def close(self) -> None:
        pass


class ThreadRecorder:
    def __init__(self) -> None:
        # C-level queue and token bucket (SimpleQueue, deque: thread-safe without a Python
        # lock): queue.Queue and a Semaphore cost the two threads several Condition
        # round trips per record, more than writing the record did.
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        # A slot is held from submit until the record is written, not only while it waits:
        # a bounded queue alone would let the writer hold a whole group besides a full queue.
        self._slots: collections.deque = collections.deque([None] * QUEUE_LENGTH)
        self._error: BaseException | None = None
        # Every "sent" record of the batch written so far, to write again after a lost
        # connection (see _write_surviving): a batch's claims, refills included (a batch
        # claims for at most sending.REFILL_SECONDS).
        self._written: list[SentRecord] = []
        self._ready = threading.Event()
        # Called once, from the writer's thread, when it next frees slots (when_free).
        self._when_free: Callable[[], None] | None = None
        self._thread = threading.Thread(target=self._run, name="delivery-recorder", daemon=True)
        self._thread.start()
        # The writer's connection is open before the first message goes out: a recorder
        # that cannot reach the database must fail the batch now, while its rows are only
        # claimed, not after the server has accepted messages it could never record.
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error

    def _run(self) -> None:
        from django.db import connection as thread_connection

        try:
            try:
                commit_without_flush_wait(True)
            except BaseException as error:  # raised by __init__ in the sending thread
                self._error = error
                return
            finally:
                self._ready.set()
            while True:
                # Wait for one record, then take whatever else is already waiting.
                records = [self._queue.get()]
                if records[0] is not None:
                    self._linger()
                while True:
                    try:
                        records.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                # close() puts None after the last record, from the thread that submits.
                closing = records[-1] is None
                try:
                    if self._error is None:
                        self._write_surviving(records)
                    if closing and self._error is None and self._written:
                        self._surviving(lambda: records_make_durable(self._written[-1]))
                except BaseException as error:  # handed to the sending thread
                    self._error = error
                finally:
                    for record in records:
                        if record is not None:
                            self._slots.append(None)
                    self._freed()
                if closing:
                    return
        finally:
            thread_connection.close()

    def _linger(self) -> None:
        """Wait for a group to gather (see GROUP_TARGET), or for the sender to wait on us."""
        until = time.monotonic() + GROUP_WAIT_SECONDS
        while True:
            time.sleep(LINGER_SECONDS)
            waiting = self._queue.qsize() + 1
            # Every slot taken: the sender is blocked on this group, so write it now.
            if waiting >= GROUP_TARGET or not self._slots or time.monotonic() >= until:
                return

    def _surviving(self, write: Callable[[], None]) -> None:
        """Run `write`; while the connection is lost, retry it on a new one.

        Retries for at most a lease (DELIVERY_CLAIM_SECONDS): while the recorder waits, the
        sender stops at QUEUE_LENGTH unwritten records, and the heartbeat keeps the rows
        unless the database stays away for longer than that, after which they may be swept
        back and every write here would match no row anyway. On a new connection every
        record of the batch is written again first: a PostgreSQL that restarted may have
        lost the last records committed without waiting for the flush (their rows are
        back in "sending" with this batch's claim token), and writing them again is what
        keeps those messages from going out twice.
        """
        deadline = None
        pause = 0.2
        deadlocks = 0
        while True:
            try:
                if deadline is not None:
                    commit_without_flush_wait(True)  # a new session has the default
                    lost = records_sent_write(self._written)
                    if self._written:
                        logger.warning(
                            "delivery records: connection lost; wrote %d records of claim "
                            "%s again, %d of them lost",
                            len(self._written),
                            self._written[0].delivery.claim,
                            lost,
                        )
                write()
                return
            except CONNECTION_ERRORS as error:
                if deadlocked(error) and deadlocks < DEADLOCK_RETRIES:
                    # Ended to break a deadlock (connections.deadlocked): nothing was
                    # written, and the connection is fine. The records lock their rows in
                    # id order, as the renewal does, so this is rare.
                    deadlocks += 1
                    logger.warning("delivery records: deadlock, writing again", exc_info=True)
                    continue
                if not connection_lost():
                    raise
                connection.close()
                deadline = deadline or time.monotonic() + settings.DELIVERY_CLAIM_SECONDS
                if time.monotonic() > deadline:
                    raise
                logger.warning("delivery records: connection lost, retrying", exc_info=True)
                time.sleep(pause)
                pause = min(pause * 2, 2.0)

    def _write_surviving(self, records: list) -> None:
        self._surviving(lambda: self._write(records))
        self._written.extend(record for record in records if isinstance(record, SentRecord))
        if len(self._written) >= DURABLE_EVERY:
            # A commit that waits for the flush covers every commit before it on the server.
            self._surviving(lambda: records_make_durable(self._written[-1]))
            self._written = []

    @staticmethod
    def _write(records: list) -> None:
        sent: list[SentRecord] = []
        for record in records:
            if isinstance(record, SentRecord):
                sent.append(record)
                continue
            # Keep the order: what was sent before this record is written before it.
            records_sent_write(sent)
            sent = []
            if record is not None:
                record()
        records_sent_write(sent)

    def sent(self, record: SentRecord) -> None:
        self.submit(record)

    def submit(self, record) -> None:
        pause = 0.0005
        while not self.submit_nowait(record):
            time.sleep(pause)  # the writer is behind: it frees a group of slots at a time
            pause = min(pause * 2, 0.05)

    def submit_nowait(self, record) -> bool:
        """Submit if a slot is free at once; False (nothing submitted) if the writer is behind."""
        if self._error is not None:
            raise self._error
        try:
            self._slots.pop()
        except IndexError:
            return False
        self._queue.put(record)
        return True

    def when_free(self, callback: Callable[[], None]) -> None:
        """Have `callback` called (once, on the writer's thread) when the writer next frees
        slots, or at once if it has died. For a sender on an event loop that found no slot:
        it waits for this instead of polling (conversations.py). Set before the sender looks
        for a slot once more, so a slot freed in between is either found or announced."""
        self._when_free = callback
        if not self._thread.is_alive():
            self._freed()

    def _freed(self) -> None:
        callback, self._when_free = self._when_free, None
        if callback is None:
            return
        try:
            callback()
        except RuntimeError:
            # The sender's event loop has closed (its batch ended another way): nobody is
            # waiting, and the writer must go on writing what it still holds.
            logger.debug("delivery records: the waiting sender's loop has closed")

    def drain(self) -> None:
        """Return once every submitted record is written; raise if one failed."""
        pause = 0.0005
        while len(self._slots) < QUEUE_LENGTH and self._thread.is_alive():
            # A record's slot comes back once it is written, or once writing it failed.
            time.sleep(pause)
            pause = min(pause * 2, 0.02)
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()


def recorder_make() -> InlineRecorder | ThreadRecorder:
    if connection.vendor == "postgresql":
        return ThreadRecorder()
    return InlineRecorder()
