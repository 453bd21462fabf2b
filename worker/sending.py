"""A batch: claim rows, send them over one or more connections, record each outcome.

The order of events for one row is what makes the pipeline crash-safe:

1. claim: queued → sending with a claim token of the batch and a short lease (one UPDATE per
   batch), renewed by a heartbeat while the batch lives (see leases.py);
2. send: MAIL/RCPT/DATA on one of the batch's connections (conversations.py: several at
   once, pipelined across messages where the server offers PIPELINING);
3. record: sending → sent, only after the server's 250 (the recorder's group commit), and only
   while the row still carries the batch's token.

A worker that dies between 1 and 3 leaves rows in "sending" whose lease lapses within
DELIVERY_CLAIM_SECONDS; the sweeper puts them back in the queue. The only window for a
duplicate is between the server's 250 and the UPDATE in 3: per batch at most the records
waiting in the recorder (QUEUE_LENGTH) plus one message per connection (its body on the wire
or its 250 waiting for a recorder slot), so QUEUE_LENGTH + C for a batch with C connections.
The other is SMTP's own (RFC 1047): a connection lost after the end of DATA and before the
reply, when the server may have queued the message; it is retried, so sent twice at most
once per lost reply. A retried message repeats its Message-ID so that receiving systems can
recognise it. A lost database connection or a restarted database is not such a window: the
statements are run again on a new connection and the recorder writes its batch again
(connections.py, recording.py).
"""

from __future__ import annotations

import functools
import logging
import math
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from subscribers.mailable import mail_refusal
from subscribers.mailable import suppressed as mail_suppressed

from .connections import bigint_array, prepared_cursor, reconnecting
from .conversations import Conversations, dispatch_status_read
from .leases import lease_make, lease_until
from .message import AddressNotSendable, MessageTemplate
from .models import Delivery, DeliveryStatus, Dispatch, DispatchStatus
from .outgoing import message_build, message_send, message_template_for, recipient_make
from .ratelimit import SendRate
from .recording import (
    ClaimedDelivery,
    SentRecord,
    deliveries_release,
    record_failed,
    record_refused,
    record_transient,
    recorder_make,
    will_retry,
)
from .relay import RelayConfig
from .services import dispatch_pause_if_failing
from .slots import BatchSlots, RelaySlots
from .transport import DeliveryRefused, ServerUnavailable, TransportBroken, transport_make

# A batch whose connections are busy keeps claiming more rows for about this long, then ends
# and leaves the rest to its successor task: connections stay open across claims, while a
# task stays short enough for a worker's warm shutdown to wait for it.
REFILL_SECONDS = 20
# How long a batch that found no relay connection slot free waits for the batches at work
# to leave it a share (RelaySlots.share) before it ends as relay-busy and tries again later:
# as long as a relay-busy batch waits before its next try (SEND_RELAY_BUSY_RETRY_SECONDS's
# default), so waiting here costs the worker no more than going away and coming back.
SHARE_WAIT_SECONDS = 2.0

# A connection costs about three round trips to open (TCP, greeting, EHLO): one is opened
# for every this many claimed rows at most, so a small batch stays on one connection.
ROWS_PER_CONNECTION_AT_LEAST = 16

logger = logging.getLogger(__name__)


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    released: int = 0
    tried: int = 0  # rows handed to the server (or failed here); the rest were never tried
    transport_down: bool = False  # the mail server could not be reached
    stopped: bool = False  # the dispatch is not sending (paused, cancelled, done)
    lease_lost: bool = False  # renewals failed; the rest was left to the sweeper
    relay_busy: bool = False  # every connection slot to the relay was taken; nothing claimed
    parallel_full: bool = False  # SEND_PARALLEL_BATCHES batches are at work; nothing claimed
    connections: int = 0  # SMTP connections the batch sent over at once


def deliveries_claim(*, dispatch_id: int, limit: int, after: int = 0) -> list[ClaimedDelivery]:
    """Claim up to `limit` due rows of a dispatch; skip, with the reason, the ineligible.

    One SELECT ... FOR UPDATE SKIP LOCKED makes concurrent batches take disjoint rows and
    reads each subscriber as they are now, so an unsubscribe, bounce or erasure during the
    dispatch is honoured without a query per row. Subscribers are looked up through the
    claimed rows (a join driven by the LIMIT), never by scanning the subscriber table: the
    cost of a claim does not grow with the size of the list.

    `after`: only rows with a greater id, where the batch's previous claim ended. No index
    holds the status (see Delivery.Meta.indexes), so a claim walks the dispatch's rows in id
    order past those already done; a batch that refills starts where it stopped instead of
    walking them again every time. A row put back behind it (released, swept, due for a
    retry) is found by the next batch, which starts from the beginning.
    """
    now = timezone.now()
    claim = uuid.uuid4()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Fixed SQL, prepared (the ORM's query compiled anew cost the worker 0.6 ms per
            # claim, about a fifth of the claim): the same query as _claim_queryset's, which
            # tests/sending/test_sending_claim_plans.py holds it to.
            with prepared_cursor() as cursor:
                cursor.execute(_CLAIM_SQL, [dispatch_id, after, now, limit])
                rows = cursor.fetchall()
        else:
            rows = list(_claim_queryset(dispatch_id=dispatch_id, after=after, now=now)[:limit])
        if not rows:
            return []
        claimed: list[ClaimedDelivery] = []
        skipped: dict[str, list[int]] = {}
        for (
            row_id,
            attempts,
            subscriber_id,
            email,
            name,
            language,
            status,
            channel,
            address_hash,
            sup,
        ) in rows:
            reason = mail_refusal(status=status, channel=channel, suppressed=sup)
            if reason is None:
                claimed.append(
                    ClaimedDelivery(
                        row_id,
                        attempts + 1,
                        subscriber_id,
                        email,
                        name,
                        language,
                        claim,
                        address_hash or "",
                    )
                )
            else:
                skipped.setdefault(reason, []).append(row_id)
        if claimed:
            _claim_mark([row.id for row in claimed], claim)
        for reason, ids in skipped.items():
            Delivery.objects.filter(id__in=ids).update(
                status=DeliveryStatus.SKIPPED,
                claimed_until=None,
                finished_at=now,
                last_error=reason,
            )
        return claimed


def _claim_queryset(*, dispatch_id: int, after: int, now):
    """The claim's rows as the ORM reads them (SQLite, the embedded default; and the
    reference _CLAIM_SQL is tested against)."""
    return (
        Delivery.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(dispatch_id=dispatch_id, status=DeliveryStatus.QUEUED, id__gt=after)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .annotate(suppressed=mail_suppressed("subscriber__email_hash"))
        .order_by("id")
        .values_list(*_CLAIM_COLUMNS)
    )


_CLAIM_COLUMNS = (
    "id",
    "attempts",
    "subscriber_id",
    "subscriber__email",
    "subscriber__name",
    "subscriber__language",
    "subscriber__status",
    "subscriber__channel",
    "subscriber__email_hash",
    "suppressed",
)

# _claim_queryset on PostgreSQL, its parameters typed so that one prepared statement serves
# every claim. A row whose subscriber is gone comes with NULLs (the LEFT JOIN), which
# mail_refusal reads as erased. PostgreSQL plans it for its parameters every time: its generic
# plan, with the LIMIT unknown, looks dearer. The LIMIT written into the statement made the
# generic plan look cheap, and it walked the primary key from `after`, through every older
# dispatch's rows for a batch starting at 0 (tests/sending/test_sending_claim_plans.py).
_CLAIM_SQL = (
    "SELECT d.id, d.attempts, d.subscriber_id, s.email, s.name, s.language, s.status, "
    "s.channel, s.email_hash, "
    "EXISTS(SELECT 1 FROM subscribers_suppression AS u WHERE u.email_hash = s.email_hash) "
    "FROM worker_delivery AS d LEFT OUTER JOIN subscribers_subscriber AS s "
    "ON d.subscriber_id = s.id "
    "WHERE d.dispatch_id = %s::bigint AND d.id > %s::bigint AND d.status = 'queued' "
    "AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= %s::timestamptz) "
    "ORDER BY d.id LIMIT %s::bigint FOR UPDATE OF d SKIP LOCKED"
)


def _span(claimed: list[ClaimedDelivery]) -> tuple[int, int]:
    """The lowest and highest id of a claim (its rows come in id order)."""
    return claimed[0].id, claimed[-1].id


def _claim_mark(ids: list[int], claim: uuid.UUID) -> None:
    """queued → sending under the batch's token and lease, for the rows just read."""
    if connection.vendor == "postgresql":
        # The ids as one array parameter: the ORM's `id IN (%s, %s, …)` costs the worker
        # about as much as the rest of the claim (500 placeholders resolved, quoted and
        # parsed again for every claim).
        with prepared_cursor() as cursor:
            cursor.execute(
                _CLAIM_MARK_SQL, [settings.DELIVERY_CLAIM_SECONDS, claim, bigint_array(ids)]
            )
        return
    Delivery.objects.filter(id__in=ids).update(
        status=DeliveryStatus.SENDING,
        claimed_until=lease_until(),
        claim_token=claim,
        attempts=F("attempts") + 1,
        finished_at=None,
    )


# The lease runs from the database's clock, as lease_until() has it (see leases.py).
_CLAIM_MARK_SQL = (
    "UPDATE worker_delivery SET status = 'sending', "
    "claimed_until = STATEMENT_TIMESTAMP() + make_interval(secs => %s::float8), "
    "claim_token = %s::uuid, attempts = attempts + 1, finished_at = NULL "
    "WHERE id = ANY(%s::bigint[])"
)


def delivery_batch_send(
    *, dispatch_id: int, rate: SendRate | None = None, parallel: bool = False
) -> BatchResult:
    """Claim one batch of a sending dispatch and send it (over several SMTP connections at
    once when the mail server is a relay and the database PostgreSQL).

    `parallel`: other batches of the dispatch may be at work in other processes (batch
    tasks), so this one first takes one of the dispatch's SEND_PARALLEL_BATCHES slots
    (slots.BatchSlots) and holds it until it ends; with none free it claims nothing.
    """
    result = BatchResult()
    dispatch = Dispatch.objects.select_related("issue").filter(pk=dispatch_id).first()
    if dispatch is None or dispatch.status != DispatchStatus.SENDING:
        result.stopped = True
        return result
    slot = BatchSlots(dispatch_id) if parallel else None
    try:
        if slot is not None and not slot.take(1):
            result.parallel_full = True
            return result
        renewers = [slot.renew] if slot is not None else []
        if settings.EMAIL_URL and connection.vendor == "postgresql":
            return _batch_send_conversations(dispatch, rate or SendRate(), result, renewers)
        claimed = deliveries_claim(dispatch_id=dispatch_id, limit=settings.SEND_BATCH_SIZE)
        result.claimed = len(claimed)
        if not claimed:
            return result
        rate = rate or SendRate()
        claim = claimed[0].claim
        lease = lease_make(
            dispatch_id=dispatch_id, claim=claim, span=_span(claimed), renewers=renewers
        )
        try:
            _batch_run(dispatch, claimed, lease, rate, result)
        finally:
            # Last: the lease must outlive every record the recorder still had to write.
            lease.close()
        return result
    finally:
        if slot is not None:
            slot.release()
            slot.close()


def _batch_send_conversations(
    dispatch, rate: SendRate, result: BatchResult, renewers: list
) -> BatchResult:
    """Connection slots first, then the claim, then the conversations (conversations.py)."""
    slots = RelaySlots(RelayConfig(settings.EMAIL_URL, timeout=settings.EMAIL_TIMEOUT).where)
    try:
        # Only the slots a full claim can use, so that a small batch leaves the rest free.
        full_claim = math.ceil(settings.SEND_BATCH_SIZE / ROWS_PER_CONNECTION_AT_LEAST)
        wanted = max(1, min(settings.SEND_CONNECTIONS, full_claim))
        waiter = f"dispatch-{dispatch.pk}"
        if not slots.take(wanted):
            # The batches at work leave a share at their next status check, and the
            # connections they end give their slots back as their replies come: a moment,
            # against the whole retry interval that a relay-busy batch waits.
            slots.waiting_note(waiter)
            given_up_at = time.monotonic() + SHARE_WAIT_SECONDS
            while not slots.take(wanted, at_least=slots.share_awaited(wanted)):
                if time.monotonic() > given_up_at:
                    # Whatever has come free by now, if anything; else try again later.
                    if slots.take(wanted):
                        break
                    result.relay_busy = True
                    return result
                time.sleep(0.05)
        slots.waiting_withdraw(waiter)
        claimed = deliveries_claim(dispatch_id=dispatch.pk, limit=settings.SEND_BATCH_SIZE)
        result.claimed = len(claimed)
        if not claimed:
            return result
        connections = min(slots.count, math.ceil(len(claimed) / ROWS_PER_CONNECTION_AT_LEAST))
        slots.give_back(slots.count - connections)
        result.connections = connections
        claim = claimed[0].claim
        # The heartbeat starts with the claim: preparing the messages (a worker's first
        # rendering of an issue takes a second or more) must not let the claim lapse meanwhile,
        # or the sweeper hands the rows to another batch while this one is about to send them.
        lease = lease_make(
            dispatch_id=dispatch.pk,
            claim=claim,
            span=_span(claimed),
            renewers=[slots.renew, *renewers],
        )
        try:
            templates = {
                language: message_template_for(
                    issue=dispatch.issue, language=language, version=dispatch.rendering_version
                )
                for language in {row.language for row in claimed}
            }
            recorder = recorder_make()
            languages = set(templates)
            after = claimed[-1].id  # where the next claim starts (deliveries_claim)

            def refill() -> list[ClaimedDelivery]:
                nonlocal after
                # Runs on the conversations' database thread, whose connection may die like
                # any other: each statement is a read or a conditional UPDATE, safe to run
                # again (a claim whose reply was lost leaves its rows to the sweeper). A row
                # in a language the batch has no prepared message for waits for the next batch.
                if result.failed:
                    # As after a batch: a relay refusing most messages pauses the dispatch.
                    reconnecting(lambda: dispatch_pause_if_failing(dispatch_id=dispatch.pk))
                status, other_sending = reconnecting(lambda: _dispatch_turn(dispatch.pk))
                if status != DispatchStatus.SENDING:
                    return []
                if other_sending:
                    # Take turns: this batch ends and its successor queues behind the other
                    # dispatch's batches, instead of holding the worker until it is done.
                    return []
                more = reconnecting(
                    lambda: deliveries_claim(
                        dispatch_id=dispatch.pk, limit=settings.SEND_BATCH_SIZE, after=after
                    )
                )
                if more:
                    after = more[-1].id  # greater than `after`: the claim's rows come in id order
                other = [row.id for row in more if row.language not in languages]
                if other:
                    claim = more[0].claim
                    reconnecting(lambda: deliveries_release(ids=other, claim=claim))
                return [row for row in more if row.language in languages]

            conversations = Conversations(
                dispatch_id=dispatch.pk,
                claimed=claimed,
                templates=templates,
                lease=lease,
                recorder=recorder,
                rate=rate,
                result=result,
                refill=refill,
                refill_seconds=REFILL_SECONDS,
                share=slots.share,
                slot_give_back=slots.give_back,
            )
            try:
                conversations.run(connections)
                recorder.drain()
                if result.lease_lost:
                    pass  # the sweeper takes the rows back once the lease has lapsed
                elif result.stopped or result.transport_down:
                    # Rows given back because the server is away wait for it, whoever
                    # claims them next (the sweeper included): SEND_TRANSPORT_RETRY_SECONDS.
                    result.released += _release(
                        conversations.untried(),
                        cancelled=conversations.cancelled,
                        retry_in=settings.SEND_TRANSPORT_RETRY_SECONDS
                        if result.transport_down
                        else None,
                    )
            except BaseException:
                # As in _batch_run: rows handed to the server stay claimed for the sweeper.
                try:
                    recorder.drain()
                finally:
                    _release(conversations.untried())
                raise
            finally:
                recorder.close()
        finally:
            # Last: the lease must outlive every record the recorder still had to write.
            lease.close()
    finally:
        slots.release()
        slots.close()
    return result


def _dispatch_turn(dispatch_id: int) -> tuple[str | None, bool]:
    """The dispatch's status now, and whether another dispatch is sending: one prepared
    statement before every refill (as two ORM queries they cost the claim thread a fifth as
    much as the claims themselves: bench/profile_batch.py, 20,000 messages)."""
    with prepared_cursor() as cursor:
        cursor.execute(_DISPATCH_TURN_SQL, [dispatch_id, dispatch_id])
        return cursor.fetchone()


_DISPATCH_TURN_SQL = (
    "SELECT (SELECT status FROM worker_dispatch WHERE id = %s::bigint), "
    "EXISTS(SELECT 1 FROM worker_dispatch WHERE status = 'sending' AND id <> %s::bigint)"
)


def _release(
    rows: list[ClaimedDelivery], *, cancelled: bool = False, retry_in: float | None = None
) -> int:
    """Give back untried rows, claim by claim (a batch may hold several), on a new
    connection if the batch's died (a conditional UPDATE, safe to run again)."""
    by_claim: dict[uuid.UUID, list[int]] = {}
    for row in rows:
        by_claim.setdefault(row.claim, []).append(row.id)
    return sum(
        reconnecting(
            functools.partial(
                deliveries_release, ids=ids, claim=claim, cancelled=cancelled, retry_in=retry_in
            )
        )
        for claim, ids in by_claim.items()
    )


def _batch_run(dispatch, claimed, lease, rate, result: BatchResult) -> None:
    claim = claimed[0].claim
    transport = transport_make()
    recorder = recorder_make()
    try:
        _batch_send(dispatch, claimed, transport, recorder, rate, result, lease)
        recorder.drain()
    except BaseException:
        # Anything unexpected: give the rows never tried back now rather than after the claim
        # expires. Rows already handed to the server stay claimed: if their record was lost
        # (the error may be the recorder's), the server may have accepted them, and sending
        # them again at once would mail people twice. The sweeper takes them back only after
        # the claim expires. A hard kill never gets here; the sweeper covers that too.
        try:
            recorder.drain()
        finally:
            untried = [row.id for row in claimed[result.tried :]]
            reconnecting(lambda: deliveries_release(ids=untried, claim=claim))
        raise
    finally:
        recorder.close()
        transport.close()


def _batch_send(dispatch, claimed, transport, recorder, rate, result: BatchResult, lease) -> None:
    templates: dict[str, MessageTemplate] = {}
    claim = claimed[0].claim
    # Broken connections since the last message the server took or refused by itself: one is
    # a server hanging up (421 after its per-connection limit, a drop), and the next message
    # goes on a new connection; two in a row mean the server is in trouble.
    breaks = 0
    for index, delivery in enumerate(claimed):
        if index and index % settings.SEND_STATUS_CHECK_EVERY == 0:
            status = dispatch_status_read(dispatch.pk)
            if status != DispatchStatus.SENDING:
                rest = [row.id for row in claimed[index:]]
                result.released += reconnecting(
                    functools.partial(
                        deliveries_release,
                        ids=rest,
                        claim=claim,
                        cancelled=status == DispatchStatus.CANCELLED,
                    )
                )
                result.stopped = True
                return
        # Checked before every message (a clock read, no query): once the lease may have
        # lapsed, the sweeper may hand these rows to another worker, so no further message
        # of this batch goes out; the rows are swept back when the lease runs out.
        lease.tick()
        if not lease.usable():
            result.lease_lost = result.stopped = True
            return
        template = templates.get(delivery.language)
        if template is None:
            template = templates[delivery.language] = message_template_for(
                issue=dispatch.issue,
                language=delivery.language,
                version=dispatch.rendering_version,
            )
        recipient = recipient_make(
            subscriber_id=delivery.subscriber_id,
            email=delivery.email,
            name=delivery.name,
            address_hash=delivery.address_hash,
            delivery_id=delivery.id,
            dispatch_id=dispatch.pk,
        )
        try:
            message = message_build(template=template, recipient=recipient)
        except AddressNotSendable as error:
            # One unsendable address must not stop the batch (and with it the dispatch).
            recorder.submit(functools.partial(record_failed, delivery, error=str(error)))
            result.failed += 1
            continue
        result.tried = index + 1
        rate.wait()
        try:
            reply = _message_send_connecting(transport, message)
        except ServerUnavailable as error:
            # No connection twice running: this message and the rest never reached the
            # server, so they go back uncharged (an outage must not use up the attempts of
            # recipients who were never offered a message), and the next batch waits.
            logger.warning("dispatch %s: mail server unavailable: %s", dispatch.pk, error)
            result.released += deliveries_release(
                ids=[row.id for row in claimed[index:]],
                claim=claim,
                retry_in=settings.SEND_TRANSPORT_RETRY_SECONDS,
            )
            result.transport_down = True
            return
        except DeliveryRefused as refusal:
            breaks = 0
            if refusal.permanent:
                recorder.submit(
                    functools.partial(
                        record_refused,
                        delivery,
                        refusal=str(refusal),
                        bounce=refusal.unknown_recipient,
                    )
                )
                result.failed += 1
            else:
                recorder.submit(functools.partial(record_transient, delivery, error=str(refusal)))
                if will_retry(delivery):
                    result.retried += 1
                else:
                    result.failed += 1
            continue
        except TransportBroken as error:
            recorder.submit(functools.partial(record_transient, delivery, error=str(error)))
            if will_retry(delivery):
                result.retried += 1
            else:
                result.failed += 1
            breaks += 1
            if breaks > 1:
                # The server is not there; the rest waits for the next batch, which must not
                # come at once (see batches.delivery_batch_run).
                rest = [row.id for row in claimed[index + 1 :]]
                result.released += reconnecting(
                    functools.partial(
                        deliveries_release,
                        ids=rest,
                        claim=claim,
                        retry_in=settings.SEND_TRANSPORT_RETRY_SECONDS,
                    )
                )
                result.transport_down = True
                return
            continue
        breaks = 0
        recorder.sent(
            SentRecord(
                delivery=delivery,
                reply=reply,
                message_id=recipient.message_id,
                sent_at=timezone.now(),
            )
        )
        result.sent += 1


def _message_send_connecting(transport, message) -> str:
    """Send, opening a connection first if there is none; a connection that cannot be opened
    is tried once more at once (a busy server turning one connection away with 421 is
    common), then ServerUnavailable goes to the caller."""
    try:
        return message_send(transport=transport, message=message)
    except ServerUnavailable:
        return message_send(transport=transport, message=message)
