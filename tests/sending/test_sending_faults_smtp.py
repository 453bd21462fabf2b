"""The mail server misbehaving as real relays do, against real worker processes at the default
settings: every eligible recipient gets the issue exactly once, except the copies SMTP itself
cannot avoid (a 250 the client never heard), which are counted and bounded.

The sink (tests/smtp.py) injects the faults and counts what it accepted per (recipient,
Message-ID); each test prints what was injected and what was counted. Faults "for a while"
last FAULT_SECONDS from the start of the dispatch; the retries then come after the default
backoff (DELIVERY_RETRY_BASE_SECONDS, 60 s), which is what most of these tests wait for.
"""

import collections
import threading
import time

import pytest

from subscribers.models import Subscriber, SubscriberStatus, Suppression
from tests.workers import wait_until
from worker.models import Delivery, DeliveryStatus, DispatchStatus

from .smtp_faults import (
    counts_print,
    counts_take,
    delivered_once,
    dispatch_send,
    dispatch_wait,
    readers_make,
    workers_start,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

REFUSAL_SECONDS = 30  # issue 14: refusing connections for 30 s, then accepting
FAULT_SECONDS = 20
TRANSPORT_RETRY_SECONDS = 30  # SEND_TRANSPORT_RETRY_SECONDS' default
RETRY_BASE_SECONDS = 60  # DELIVERY_RETRY_BASE_SECONDS' default


def _number(address: str) -> int:
    return int(address.split("@")[0].removeprefix("lasare"))


def test_it_waits_out_a_server_refusing_connections_for_30_seconds_without_using_attempts(
    celery_workers, smtp_server
):
    people = readers_make(40)
    smtp_server.stop_listening()  # the port is closed: connections are refused
    workers_start(celery_workers)
    started = time.monotonic()
    dispatch = dispatch_send()
    reopen = threading.Timer(REFUSAL_SECONDS, smtp_server.listen)
    reopen.start()
    try:
        dispatch = dispatch_wait(dispatch, timeout=REFUSAL_SECONDS + 3 * TRANSPORT_RETRY_SECONDS)
    finally:
        reopen.cancel()
        reopen.join()

    counts = counts_take(smtp_server, [dispatch], started=started)
    counts_print(
        "refused 30 s",
        smtp_server,
        counts,
        port_closed_for=f"{REFUSAL_SECONDS} s",
        done_after_reopening=f"{counts.seconds - REFUSAL_SECONDS:.1f} s",
    )
    assert dispatch.status == DispatchStatus.DONE
    assert set(delivered_once(smtp_server, dispatch, people).values()) == {1}
    # No message reached a server during the outage: nobody was charged an attempt for it.
    assert counts.retries == 0 and counts.failed == 0
    # The batches wait SEND_TRANSPORT_RETRY_SECONDS after a refusal, then send at once.
    assert counts.seconds - REFUSAL_SECONDS < 2 * TRANSPORT_RETRY_SECONDS


def test_it_reconnects_when_the_greeting_is_421_and_waits_when_every_one_is(
    celery_workers, smtp_server
):
    people = readers_make(40)
    workers_start(celery_workers)
    first = smtp_server.connections

    def greeting(number: int) -> str | None:
        # The first four connections turned away (two pool processes trying twice each, so
        # at least one batch finds the server unavailable), then one connection in three.
        if number - first <= 4 or number % 3 == 0:
            return "421 4.3.2 Too many connections, try again later"
        return None

    smtp_server.on_connect = greeting
    started = time.monotonic()
    dispatch = dispatch_wait(dispatch_send(), timeout=3 * TRANSPORT_RETRY_SECONDS + 30)

    counts = counts_take(smtp_server, [dispatch], started=started)
    counts_print("421 on connect", smtp_server, counts, connections=smtp_server.connections - first)
    assert smtp_server.injected["connect 421"] >= 5
    assert dispatch.status == DispatchStatus.DONE
    assert set(delivered_once(smtp_server, dispatch, people).values()) == {1}
    # A turned-away connection is the server's state, not an attempt of a recipient's.
    assert counts.retries == 0 and counts.failed == 0
    # The rows of a batch that found the server unavailable waited the transport retry
    # (the sweeper, finding them due and no batch at work, did not start one at once).
    assert counts.seconds >= TRANSPORT_RETRY_SECONDS - 1


# The message-level faults, each on its own readers (by number), all in one dispatch so that
# they share the one backoff wait. 421 mid-session hits whoever is fifth on a connection.
LOST_REPLY = {3, 23, 43}  # accepted, then the line drops before the 250: sent twice
DROP_IN_DATA = {1, 11, 21, 31, 41, 51}
GREYLISTED = {n for n in range(60) if n % 5 == 0}  # 451 for a fifth, for a while
TOO_MANY_RECIPIENTS_452 = {7, 17, 27}
STORAGE_452 = {9, 19, 29}
TOO_MANY_RECIPIENTS_552 = {13, 33, 53}  # 552 to RCPT: transient (RFC 5321 4.5.3.1.10)
TOO_BIG_552 = {8, 18, 28, 38}  # 552 at the end of DATA: permanent


def test_it_retries_421_drops_451_and_452_and_fails_a_too_big_552_for_good(
    celery_workers, smtp_server
):
    people = readers_make(60)
    faults_until = [float("inf")]

    def for_a_while() -> bool:
        return time.monotonic() < faults_until[0]

    def mail(accepted_on_connection: int) -> str | None:
        if for_a_while() and accepted_on_connection >= 4:
            return "421 4.7.0 Too many messages on this connection, try again later"
        return None

    def rcpt(address: str, attempt: int) -> str | None:
        number = _number(address)
        if number in GREYLISTED and for_a_while():
            return "451 4.7.1 Greylisted, please try again later"
        if number in TOO_MANY_RECIPIENTS_452 and attempt == 1:
            return "452 4.5.3 Too many recipients"
        if number in TOO_MANY_RECIPIENTS_552 and attempt == 1:
            return "552 5.5.3 Too many recipients"
        return None

    def data_end(address: str, attempt: int) -> str | None:
        number = _number(address)
        if number in TOO_BIG_552:
            return "552 5.3.4 Message size exceeds fixed maximum message size"
        if number in STORAGE_452 and attempt == 1:
            return "452 4.3.1 Insufficient system storage"
        return None

    smtp_server.on_mail = mail
    smtp_server.on_rcpt = rcpt
    smtp_server.on_data_end = data_end
    smtp_server.drop_in_data = lambda address, attempt: (
        _number(address) in DROP_IN_DATA and attempt == 1
    )
    smtp_server.lose_reply = lambda address, attempt: (
        _number(address) in LOST_REPLY and attempt == 1
    )
    workers_start(celery_workers)
    started = time.monotonic()
    faults_until[0] = started + FAULT_SECONDS
    dispatch = dispatch_wait(dispatch_send(), timeout=FAULT_SECONDS + 4 * RETRY_BASE_SECONDS)

    counts = counts_take(smtp_server, [dispatch], started=started)
    greylisted = [a for a in people if _number(a) in GREYLISTED]
    waits = [
        smtp_server.rcpt_at[a][-1] - smtp_server.rcpt_at[a][0]
        for a in greylisted
        if len(smtp_server.rcpt_at[a]) > 1
    ]
    counts_print(
        "421/drop/451/452/552",
        smtp_server,
        counts,
        greylisted_retried=f"{len(waits)} of {len(greylisted)}",
        shortest_wait_before_retry=f"{min(waits):.1f} s",
    )
    for name, expected in (
        ("RCPT 451", len(GREYLISTED)),
        ("RCPT 452", len(TOO_MANY_RECIPIENTS_452)),
        ("RCPT 552", len(TOO_MANY_RECIPIENTS_552)),
        ("end of DATA 452", len(STORAGE_452)),
        ("end of DATA 552", len(TOO_BIG_552)),
        ("drop in DATA", len(DROP_IN_DATA)),
        ("reply lost after accepting", len(LOST_REPLY)),
    ):
        assert smtp_server.injected[name] >= expected, name
    assert smtp_server.injected["MAIL 421"] >= 1

    too_big = [a for a in people if _number(a) in TOO_BIG_552]
    eligible = [a for a in people if a not in too_big]
    assert dispatch.status == DispatchStatus.DONE
    copies = delivered_once(smtp_server, dispatch, eligible)
    # The only repeats are the messages whose 250 was lost, once each, same Message-ID.
    assert sorted(a for a, count in copies.items() if count > 1) == sorted(
        a for a in people if _number(a) in LOST_REPLY
    )
    assert max(copies.values()) == 2
    assert counts.repeated == len(LOST_REPLY)
    # Transient refusals were retried after the backoff, not at once.
    assert len(waits) == len(greylisted)
    assert min(waits) >= RETRY_BASE_SECONDS - 1
    assert counts.retries >= len(GREYLISTED) + len(DROP_IN_DATA) + len(LOST_REPLY)

    # A message too big for the server fails for good, once, with the server's reply kept;
    # the address is fine (it is the message that is too big), so it is not suppressed.
    failed = Delivery.objects.filter(dispatch=dispatch, status=DeliveryStatus.FAILED)
    assert sorted(failed.values_list("email", flat=True)) == sorted(too_big)
    for delivery in failed:
        assert "552 5.3.4 Message size exceeds" in delivery.smtp_reply
        # Offered once (a 421 at MAIL before it may have cost it an attempt, not an offer).
        assert smtp_server.attempts[delivery.email] == 1
    assert smtp_server.injected["end of DATA 552"] == len(TOO_BIG_552)
    assert not Suppression.objects.filter(email__in=too_big).exists()
    assert set(Subscriber.objects.filter(email__in=too_big).values_list("status", flat=True)) == {
        SubscriberStatus.ACTIVE
    }
    assert counts.failed == len(too_big)


def test_it_keeps_leases_alive_and_the_send_rate_through_replies_slowed_to_10_seconds(
    celery_workers, smtp_server
):
    rate = 60  # SEND_RATE_PER_MINUTE, the setting this test is about: one message a second
    people = readers_make(30)
    slow_until = [float("inf")]
    smtp_server.reply_delay = lambda: 10 if time.monotonic() < slow_until[0] else 0
    workers_start(celery_workers, SEND_RATE_PER_MINUTE=str(rate))
    started = time.monotonic()
    slow_until[0] = started + 35
    dispatch = dispatch_send()

    lapsed = []  # rows found in "sending" past their lease, as the sweeper would take them

    def done_and_watched():
        lapsed.extend(
            Delivery.objects.raw(
                "SELECT id FROM worker_delivery WHERE status = 'sending' AND claimed_until < now()"
            )
        )
        sent = Delivery.objects.filter(dispatch=dispatch, status=DeliveryStatus.SENT)
        return sent.count() == len(people)

    wait_until(done_and_watched, timeout=300, interval=0.5, message="not all sent")
    dispatch = dispatch_wait(dispatch, timeout=30)

    counts = counts_take(smtp_server, [dispatch], started=started)
    moments = sorted(smtp_server.accepted_at)
    per_second = collections.Counter(int(moment) for moment in moments)
    busiest_minute = max(
        sum(1 for other in moments if moment <= other < moment + 60) for moment in moments
    )
    counts_print(
        "replies slowed to 10 s",
        smtp_server,
        counts,
        lapsed_leases=len(lapsed),
        busiest_second=max(per_second.values()),
        busiest_60_s=busiest_minute,
        per_second=[
            per_second.get(second, 0) for second in range(int(moments[0]), int(moments[-1]) + 1)
        ],
    )
    assert smtp_server.injected["end of DATA reply delayed 10 s"] >= 4
    assert lapsed == []
    assert set(delivered_once(smtp_server, dispatch, people).values()) == {1}
    # Nothing was taken back and claimed again: every row went out on its first attempt.
    assert counts.retries == 0
    # One a second, counted when a sender starts a message (its MAIL at the sink); one held
    # up on the way by a busy machine may share a second with the next.
    assert max(per_second.values()) <= 2
    assert busiest_minute <= rate + 1
