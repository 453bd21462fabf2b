"""A batch's SMTP conversations: several connections at once, one round trip per message.

A relay is milliseconds away, and a conversation spends nearly all its time waiting for
replies. So a batch keeps several connections busy at once (SEND_CONNECTIONS), all in one
thread on an asyncio event loop, and on each connection that offers PIPELINING the end of one
message's DATA and the next message's MAIL/RCPT/DATA go in one write. The connections take
the batch's claimed rows from one shared list, in order, so each row is on exactly one
connection, and every row gets exactly one outcome: sent (after the server's 250), refused,
tried again later, or given back untried.

asyncio rather than a thread per connection: the connections wait, they do not compute, and
one thread switching between sockets costs less CPU per message than sixteen threads taking
turns at the GIL (measured in bench/: see the README). The database is never touched from
the event loop (Django forbids it there): records go to the batch's recorder thread, the
heartbeat renews the claim from its own thread, and the occasional dispatch status check
runs on a single worker thread.

What can be sent twice after a crash is what the server has accepted but the recorder has
not written: per connection at most one message (either its body is on the wire and its 250
not yet read, or its 250 is read and its record waits for a slot), plus the recorder's
QUEUE_LENGTH. A batch with C connections therefore leaves at most QUEUE_LENGTH + C.

The fault rules are those of the one-connection path (transport.py, sending.py): a relay
that cannot be reached at all (refused, timed out, a 421 greeting) is tried once more at
once, and then its rows go back uncharged to wait SEND_TRANSPORT_RETRY_SECONDS; a 552 to RCPT
is transient and a 552 at the end of DATA permanent; one hang-up costs only what was in
flight, and two in a row with no reply to a message in between end the batch.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import DatabaseError, connection

from .connections import prepared_cursor, reconnecting
from .message import AddressNotSendable, MessageTemplate
from .models import DispatchStatus
from .outgoing import OutgoingMessage, message_build_wire, recipient_make
from .ratelimit import SendRate
from .recording import (
    ClaimedDelivery,
    SentRecord,
    record_failed,
    record_refused,
    record_transient,
    will_retry,
)
from .relay import RelayConfig, RelayConnection, data_end, data_stuffed, envelope_commands
from .transport import DeliveryRefused, ServerUnavailable, TransportBroken, _reply_text

logger = logging.getLogger(__name__)

# Errors that end a connection; whatever was in flight on it is transient.
_CONNECTION_ERRORS = (OSError, EOFError, asyncio.IncompleteReadError, asyncio.TimeoutError)
_RECIPIENT_OK = (250, 251)
# A batch asks for its share of the relay's connection slots (RelaySlots.share, a Redis
# round trip on the status thread) at a status check at most this often. Near the sink a
# status check comes every dozen milliseconds, and asking at each cost the worker about a
# twentieth of its CPU (bench/profile_batch.py, 20,000 messages, three runs each way: 219
# against 209 µs per message); a batch waiting for a share waits up to
# sending.SHARE_WAIT_SECONDS (2 s), which this leaves well inside.
SHARE_EVERY_SECONDS = 0.25


LATER = object()  # _next(wait=False): a row may come, but not at once
BROKEN = object()  # _converse: the connection broke (hung up, 421, no reply in time)


class _Closed(Exception):
    """The server said 421: it is closing the connection."""


@dataclass(frozen=True)
class _Item:
    delivery: ClaimedDelivery
    message: OutgoingMessage
    message_id: str


def _loop_running_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def dispatch_status_read(dispatch_id: int) -> str | None:
    """The dispatch's status now, on this thread's connection (renewed if it died since the
    batch began: worker/connections.py)."""

    def read() -> str | None:
        with prepared_cursor() as cursor:
            cursor.execute("SELECT status FROM worker_dispatch WHERE id = %s", [dispatch_id])
            row = cursor.fetchone()
        return row[0] if row else None

    return reconnecting(read)


class Conversations:
    """Send a batch's claimed rows over up to `connections` connections to the relay."""

    def __init__(
        self,
        *,
        dispatch_id: int,
        claimed: list[ClaimedDelivery],
        templates: dict[str, MessageTemplate],
        lease,
        recorder,
        rate: SendRate,
        result,
        refill: Callable[[], list[ClaimedDelivery]] | None = None,
        refill_seconds: float = 0,
        share: Callable[[], int] | None = None,
        slot_give_back: Callable[[int], None] | None = None,
    ) -> None:
        self.dispatch_id = dispatch_id
        self.rows = list(claimed)
        # Claims more rows while the connections are busy, so that they stay open and busy
        # across what would otherwise be several batch tasks (until refill_seconds).
        self._refill = refill
        self._refill_until = time.monotonic() + refill_seconds
        self._refill_size = len(claimed)
        self._refill_task: asyncio.Task | None = None
        self.templates = templates
        self.lease = lease
        self.recorder = recorder
        self.rate = rate
        self.result = result
        self.config = RelayConfig(settings.EMAIL_URL, timeout=settings.EMAIL_TIMEOUT)
        self.per_connection = settings.SEND_MESSAGES_PER_CONNECTION or 2**62  # 0: no limit
        self.status_every = max(1, settings.SEND_STATUS_CHECK_EVERY)
        self.cancelled = False
        self._next_index = 0
        self._taken = 0
        self._checked_at = 0  # rows taken when the dispatch status was last looked at
        self._stopping = False
        # Taken, but never handed to the server (its connection could not be opened): sent
        # next by another connection, or given back uncharged with the untried rows.
        self._returned: list[ClaimedDelivery] = []
        self._open = 0  # connections open now
        self._replies = 0  # messages the server took or refused by itself, so far
        self._rate_at: float | None = None  # when the reserved place in the rate limit comes
        self._status_thread = ThreadPoolExecutor(1, thread_name_prefix="delivery-status")
        # Set (from the writer's thread) when the recorder frees slots, for the connections
        # waiting to hand it a record (_record); a new one for each wait.
        self._recorder_freed: asyncio.Event | None = None
        # The relay's connection slots this batch may keep (RelaySlots.share, asked at a
        # status check at most every SHARE_EVERY_SECONDS): connections numbered from it on
        # end once their message is answered and give their slot back (slot_give_back), for
        # a batch that waits for one.
        self._share = share
        self._slot_give_back = slot_give_back
        self._allowed = 2**62
        self._share_next_at = 0.0  # asked at the first status check, then SHARE_EVERY_SECONDS

    def untried(self) -> list[ClaimedDelivery]:
        """Rows no connection handed to the server: they can be given back at once."""
        return self._returned + self.rows[self._next_index :]

    def run(self, connections: int) -> None:
        try:
            if _loop_running_here():
                # A caller with an event loop of its own in this thread (a process driving a
                # browser through Playwright's sync API, say) cannot start a second one here:
                # the conversations get a thread of their own, and this one waits for them.
                with ThreadPoolExecutor(1, thread_name_prefix="delivery-conversations") as own:
                    own.submit(asyncio.run, self._main(connections)).result()
            else:
                asyncio.run(self._main(connections))
        finally:
            # A lambda, so that `connection` is looked up in that thread (it is per thread).
            self._status_thread.submit(lambda: connection.close()).result()
            self._status_thread.shutdown()

    async def _main(self, connections: int) -> None:
        # The first connection opens alone: a relay that cannot be reached is tried twice,
        # not twice per connection, and one that talks but will not let us in (a refused
        # login) charges one row an attempt per try, not one per connection.
        self._opened = asyncio.Event()
        self._refill_below = max(2 * connections, self._refill_size // 4)
        try:
            outcomes = await asyncio.gather(
                *(self._connection_loop_stopping(number) for number in range(connections)),
                return_exceptions=True,
            )
            errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
            if errors:
                raise errors[0]
        finally:
            # A claim still being made must land in self.rows (and so in untried()) before
            # the batch gives back what it did not send.
            if self._refill_task is not None:
                await asyncio.wait([self._refill_task])

    def _refill_maybe(self) -> None:
        if self._refill is None or self._refill_task is not None or self._stopping:
            return
        if len(self.rows) - self._next_index > self._refill_below:
            return
        if time.monotonic() > self._refill_until:
            self._refill = None
            return
        self._refill_task = asyncio.ensure_future(self._refill_run())

    async def _refill_run(self) -> None:
        try:
            rows = await asyncio.get_running_loop().run_in_executor(
                self._status_thread, self._refill
            )
        except Exception:
            # The database is away: send what the batch has; its successor claims the rest.
            logger.warning(
                "dispatch %s: claiming more rows failed", self.dispatch_id, exc_info=True
            )
            self._refill = None
            return
        finally:
            self._refill_task = None
        if rows:
            self.lease.add(claim=rows[0].claim, span=(rows[0].id, rows[-1].id))
            # The rows already taken are done with here (their outcomes are the recorder's):
            # dropped, so that a batch that refills for REFILL_SECONDS at thousands of
            # messages a second does not keep every row it ever sent.
            del self.rows[: self._next_index]
            self._next_index = 0
            self.rows.extend(rows)
            self.result.claimed += len(rows)
        if len(rows) < self._refill_size:
            self._refill = None  # the dispatch has no more rows due now

    def _stop(self) -> None:
        self._stopping = True
        self._opened.set()  # connections waiting for the first to open end too

    # -- taking rows ------------------------------------------------------------------------

    async def _next(self, *, wait: bool = True):
        """The next row to send with its message, or None when this batch should send no more.

        With wait=False it returns LATER instead of waiting (for the global rate limit, or
        for rows still being claimed): a connection with a message ready must send it first.
        """
        result = self.result
        while not self._stopping:
            self._refill_maybe()
            if not self._returned and self._next_index >= len(self.rows):
                if self._refill_task is None:
                    return None
                if not wait:
                    return LATER
                await asyncio.wait([self._refill_task])
                continue
            if self._rate_at is None:
                # Reserved before the row is taken, so a wait never holds a row back from
                # the other connections, and the status is looked at after the wait. The
                # place is the batch's until a message takes it (GCRA: asking again would
                # take a second one).
                self._rate_at = time.monotonic() + self.rate.reserve()
            delay = self._rate_at - time.monotonic()
            if delay > 0:
                if not wait:
                    return LATER
                await asyncio.sleep(delay)
                continue
            if self._taken - self._checked_at >= self.status_every:
                self._checked_at = self._taken
                try:
                    status = await asyncio.get_running_loop().run_in_executor(
                        self._status_thread, dispatch_status_read, self.dispatch_id
                    )
                except DatabaseError:
                    # The database is away for longer than one reconnect: look again at the
                    # next check. Ending here would cut the other connections' messages off
                    # between their 250 and its record; the lease (usable(), below) and the
                    # recorder's bounded queue already stop the batch if it stays away.
                    logger.warning(
                        "dispatch %s: status check failed", self.dispatch_id, exc_info=True
                    )
                    continue
                if status != DispatchStatus.SENDING:
                    self.cancelled = status == DispatchStatus.CANCELLED
                    result.stopped = True
                    self._stop()
                    return None
                if self._share is not None and time.monotonic() >= self._share_next_at:
                    self._share_next_at = time.monotonic() + SHARE_EVERY_SECONDS
                    try:
                        allowed = await asyncio.get_running_loop().run_in_executor(
                            self._status_thread, self._share
                        )
                    except Exception:
                        # Redis is away: keep the connections (the slots lapse by themselves
                        # if the heartbeat cannot renew them either).
                        logger.warning("relay slots: share unknown", exc_info=True)
                    else:
                        self._allowed = min(self._allowed, allowed)
                continue
            # Before every message (a clock read): once the lease may have lapsed, the
            # sweeper may hand these rows to another worker, so nothing more goes out.
            self.lease.tick()
            if not self.lease.usable():
                result.lease_lost = result.stopped = True
                self._stop()
                return None
            self._taken += 1
            if self._returned:
                delivery = self._returned.pop(0)
            else:
                delivery = self.rows[self._next_index]
                self._next_index += 1
            recipient = recipient_make(
                subscriber_id=delivery.subscriber_id,
                email=delivery.email,
                name=delivery.name,
                address_hash=delivery.address_hash,
                delivery_id=delivery.id,
                dispatch_id=self.dispatch_id,
            )
            try:
                message = message_build_wire(
                    template=self.templates[delivery.language], recipient=recipient
                )
            except AddressNotSendable as error:
                # One unsendable address must not stop the batch (and with it the dispatch).
                await self._record(functools.partial(record_failed, delivery, error=str(error)))
                result.failed += 1
                continue
            self._rate_at = None
            result.tried += 1
            return _Item(delivery, message, recipient.message_id)
        return None

    # -- outcomes ---------------------------------------------------------------------------

    async def _record(self, record) -> None:
        while not self.recorder.submit_nowait(record):
            # The writer is behind: wait, without blocking the loop (the other connections
            # still read their replies meanwhile), until it has written a group and freed
            # its slots. Told by the writer, once per group for all the connections that
            # wait: polling each connection on a timer of its own cost the loop a tenth of
            # its CPU (bench/ py-spy, 20,000 messages over 32 connections).
            freed = self._recorder_freed
            if freed is None or freed.is_set():
                freed = self._recorder_freed = asyncio.Event()
                self.recorder.when_free(
                    functools.partial(asyncio.get_running_loop().call_soon_threadsafe, freed.set)
                )
                if self.recorder.submit_nowait(record):
                    return
            await freed.wait()

    def _give_back(self, item: _Item) -> None:
        """A row taken but never offered: first in line again, uncharged."""
        self._returned.insert(0, item.delivery)
        self.result.tried -= 1

    async def _sent(self, item: _Item, code: int, text: str) -> None:
        self._replies += 1
        await self._record(
            SentRecord(
                delivery=item.delivery,
                reply=_reply_text(f"{code} {text}"),
                message_id=item.message_id,
                sent_at=datetime.now(UTC),  # timezone.now(), without reading USE_TZ
            )
        )
        self.result.sent += 1

    async def _refused(self, item: _Item, code: int, text: str, *, command: str) -> None:
        """A refusal of this one message; `command` is MAIL, RCPT, DATA or "" (the end of
        DATA), which decides what a 552 means (transport.DeliveryRefused)."""
        self._replies += 1
        refusal = DeliveryRefused(code, _reply_text(text), command=command)
        if refusal.permanent:
            await self._record(
                functools.partial(
                    record_refused,
                    item.delivery,
                    refusal=str(refusal),
                    bounce=refusal.unknown_recipient,
                )
            )
            self.result.failed += 1
        else:
            await self._transient(item, str(refusal))

    async def _transient(self, item: _Item, error: str) -> None:
        await self._record(functools.partial(record_transient, item.delivery, error=error))
        if will_retry(item.delivery):
            self.result.retried += 1
        else:
            self.result.failed += 1

    async def _final(self, item: _Item, code: int, text: str) -> None:
        """The reply to the end of a message's DATA."""
        if code == 250:
            await self._sent(item, code, text)
        elif code == 421:
            await self._transient(item, f"{code} {_reply_text(text)}")
            raise _Closed
        else:
            await self._refused(item, code, text, command="")

    # -- connections ------------------------------------------------------------------------

    async def _connection_loop_stopping(self, number: int) -> None:
        try:
            await self._connection_loop(number)
        except BaseException:
            # One connection failed unexpectedly (the recorder's error, say): the others
            # finish what they have in flight, so that each 250 they get is still recorded,
            # and take no more (cancelling them would leave those 250s unrecorded).
            self._stop()
            raise

    async def _connection_loop(self, number: int) -> None:
        if number:
            await self._opened.wait()
        item = None
        unavailable = 0  # this connection's opens in a row that found no server
        # This connection's breaks with no message taken or refused (on any connection) in
        # between: one is a server hanging up (421 after its per-connection limit, a drop),
        # and the next message goes on a new connection; two in a row are a server in trouble.
        breaks, replies_at_break = 0, -1
        while True:
            if number >= self._allowed:
                await self._retire(item)
                return
            item = item or await self._next()
            if item is None:
                return
            relay = RelayConnection(self.config)
            try:
                await relay.open()
            except ServerUnavailable as error:
                # Nothing reached the server: the row is not charged. Once more at once (a
                # busy server turning one connection away is common), then this connection
                # gives up.
                self._give_back(item)
                item = None
                unavailable += 1
                if unavailable < 2:
                    continue
                self._give_up(f"mail server unavailable: {error}")
                return
            except TransportBroken as error:
                # Reached, but refused to talk (STARTTLS, EHLO, login): an attempt, so a
                # wrong password ends in failures that pause the dispatch, not in retries.
                await self._transient(item, str(error))
                item = None
                outcome = BROKEN
            else:
                unavailable = 0
                self._opened.set()
                self._open += 1
                try:
                    outcome = await self._converse(relay, item, number)
                finally:
                    self._open -= 1
                item = None if outcome is BROKEN else outcome
            if outcome is BROKEN:
                breaks = breaks + 1 if self._replies == replies_at_break else 1
                replies_at_break = self._replies
                if breaks >= 2:
                    self._give_up("two broken connections in a row")
                    return

    async def _retire(self, item: _Item | None) -> None:
        """This connection ends to leave its slot to another batch (see _allowed)."""
        if item is not None:
            self._give_back(item)
        if self._slot_give_back is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(
                    self._status_thread, self._slot_give_back, 1
                )
            except Exception:
                logger.warning("relay slots: giving one back failed", exc_info=True)

    def _give_up(self, reason: str) -> None:
        """This connection ends; if it was the batch's last, the server is not there, and the
        rest waits for the next batch, which must not come at once (batches.py)."""
        if self._open:
            return  # the other connections send the rest
        logger.warning("dispatch %s: %s", self.dispatch_id, reason)
        self.result.transport_down = True
        self._stop()

    async def _converse(self, relay: RelayConnection, first: _Item, number: int = 0):
        """Send from `first` on until the rows run out or the connection has sent its share;
        returns a row taken but not yet sent here (for the next connection), None, or BROKEN
        when the connection broke (what was in flight on it is then tried again later)."""
        in_flight: list[_Item] = []  # sent on this connection and not yet answered
        # Of those, the ones whose body went out. Only they may have been accepted (RFC
        # 1047); one whose envelope alone went out (pipelined behind the previous message,
        # or refused with 421 at MAIL) cannot have been, and goes first on the next
        # connection, uncharged, as on the one-connection path.
        bodies: list[_Item] = []
        try:
            if relay.pipelining:
                return await self._converse_pipelined(relay, first, in_flight, bodies, number)
            return await self._converse_plain(relay, first, in_flight, bodies, number)
        except (*_CONNECTION_ERRORS, _Closed) as error:
            relay.abort()
            for item in reversed(in_flight):
                if any(item is body for body in bodies):
                    await self._transient(item, f"{self.config.where}: {error!r}")
                else:
                    self._give_back(item)
            return BROKEN

    async def _converse_pipelined(
        self, relay, item: _Item, in_flight: list[_Item], bodies, number: int
    ):
        """One write per message: [end of the previous DATA] + MAIL + RCPT + DATA."""
        sent_here = 0
        reset = False
        in_flight.append(item)
        relay.write(envelope_commands(item.message.envelope_from, item.message.envelope_to))
        while True:
            # In order: the previous message's final reply (its body went with this
            # envelope), RSET's after a refusal, then MAIL, RCPT and DATA. The final reply is
            # recorded before waiting for the others: a server slow to answer MAIL must not
            # hold back the record of a message it has accepted (the crash window).
            if len(in_flight) == 2:
                code, text = await relay.reply()
                await self._final(in_flight.pop(0), code, text)
            replies = await relay.replies(3 + reset)
            current = in_flight[0]
            if reset:
                reset = False
                if replies.pop(0)[0] == 421:
                    raise _Closed
            mail, rcpt, data = replies
            if mail[0] == 250 and rcpt[0] in _RECIPIENT_OK and data[0] == 354:
                sent_here += 1
                following = None
                if sent_here < self.per_connection and number < self._allowed:
                    following = await self._next(wait=False)
                if following is LATER:
                    # Nothing to pipeline at once: this message goes now, the next when ready.
                    bodies[:] = [current]
                    relay.write(data_stuffed(current.message.data, stuffed=current.message.stuffed))
                    await relay.drain()
                    code, text = await relay.reply()
                    in_flight.pop(0)
                    await self._final(current, code, text)
                    following = await self._next()
                    if following is None:
                        await relay.quit()
                        return None
                    in_flight.append(following)
                    relay.write(
                        envelope_commands(
                            following.message.envelope_from, following.message.envelope_to
                        )
                    )
                    continue
                bodies[:] = [current]
                message = current.message
                if message.stuffed:
                    payload = [message.data, data_end(message.data)]
                else:
                    payload = [data_stuffed(message.data)]
                if following is not None:
                    payload.append(
                        envelope_commands(
                            following.message.envelope_from, following.message.envelope_to
                        )
                    )
                    in_flight.append(following)
                relay.write_parts(payload)
                await relay.drain()
                if following is None:
                    code, text = await relay.reply()
                    in_flight.pop(0)
                    await self._final(current, code, text)
                    await relay.quit()
                    return None
                continue
            # Refused: only this message. A recipient refused but DATA opened anyway (a
            # server that does not follow RFC 2920 3.1) leaves nothing sensible to send.
            in_flight.pop(0)
            if mail[0] != 250:
                refusal, command = mail, "MAIL"
            elif rcpt[0] not in _RECIPIENT_OK:
                refusal, command = rcpt, "RCPT"
            else:
                refusal, command = data, "DATA"
            if refusal[0] == 421 or data[0] == 354:
                in_flight.insert(0, current)
                raise _Closed
            await self._refused(current, *refusal, command=command)
            following = await self._next()
            if following is None:
                await relay.quit()
                return None
            in_flight.append(following)
            reset = True
            relay.write(
                b"RSET\r\n"
                + envelope_commands(following.message.envelope_from, following.message.envelope_to)
            )

    async def _converse_plain(self, relay, item: _Item, in_flight: list[_Item], bodies, number):
        """A server without PIPELINING: one command, one reply."""
        sent_here = 0
        while item is not None:
            in_flight.append(item)
            message = item.message
            code, text = await relay.command(b"MAIL FROM:<%s>" % message.envelope_from.encode())
            command = "MAIL"
            if code == 250:
                code, text = await relay.command(b"RCPT TO:<%s>" % message.envelope_to.encode())
                command = "RCPT"
            if code in _RECIPIENT_OK:
                code, text = await relay.command(b"DATA")
                command = "DATA"
            if code == 354:
                bodies[:] = [item]
                relay.write(data_stuffed(message.data, stuffed=message.stuffed))
                code, text = await relay.reply()
                in_flight.pop()
                await self._final(item, code, text)
            else:
                if code == 421:
                    raise _Closed
                in_flight.pop()
                await self._refused(item, code, text, command=command)
                code, _ = await relay.command(b"RSET")
                if code == 421:
                    raise _Closed
            sent_here += 1
            if sent_here >= self.per_connection or number >= self._allowed:
                break
            item = await self._next()
        await relay.quit()
        return None
