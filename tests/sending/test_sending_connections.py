"""Several SMTP conversations per batch (SEND_CONNECTIONS), pipelined across messages where the
server offers PIPELINING, within the limits a relay imposes.

The batches here run in the test process against the loopback aiosmtpd server, with the
recorder and heartbeat threads they have in a worker, at the default SEND_CONNECTIONS; the
batch size is what decides how many connections a batch opens (one per
ROWS_PER_CONNECTION_AT_LEAST rows). The worker-process tests are in
test_sending_connections_workers.py.
"""

import collections
import math
import re
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from subscribers.models import Subscriber, SubscriberStatus
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.workers import wait_until
from worker.models import Delivery, DeliveryStatus, Dispatch
from worker.relay import RelayConfig
from worker.sending import ROWS_PER_CONNECTION_AT_LEAST, delivery_batch_send
from worker.services import deliveries_sweep
from worker.slots import RelaySlots

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 120
CONNECTIONS = math.ceil(ROWS / ROWS_PER_CONNECTION_AT_LEAST)  # 8 at the default settings


@pytest.fixture
def relay(settings, smtp_server, redis_purged):
    settings.EMAIL_URL = smtp_server.url
    settings.SEND_BATCH_SIZE = ROWS
    assert settings.SEND_CONNECTIONS >= CONNECTIONS > 1
    smtp_server.delay = 0.005  # every conversation waits, so that they overlap
    return smtp_server


def _sending_dispatch(people: int = ROWS) -> tuple[list[str], Dispatch]:
    readers = segment_make(slug="lasare")
    addresses = [
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers]).email
        for n in range(people)
    ]
    call_command("send_issue", sendable_issue_make().slug)  # the start task waits in Redis
    return addresses, Dispatch.objects.get()


def _batch_in_thread(dispatch_id: int, results: list) -> threading.Thread:
    def run() -> None:
        from django.db import connection

        try:
            results.append(delivery_batch_send(dispatch_id=dispatch_id))
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_it_sends_a_batch_over_several_connections_at_once_exactly_once(relay):
    addresses, dispatch = _sending_dispatch()

    result = delivery_batch_send(dispatch_id=dispatch.pk)

    assert result.connections == CONNECTIONS
    assert result.sent == ROWS
    counts = collections.Counter(relay.recipients())
    assert set(counts) == set(addresses) and max(counts.values()) == 1
    assert relay.connections == CONNECTIONS
    assert 1 < relay.max_open_transactions <= CONNECTIONS
    sent = Delivery.objects.filter(status=DeliveryStatus.SENT)
    assert sent.count() == ROWS
    assert not sent.exclude(smtp_reply__startswith="250 OK queued as").exists()
    # Every record names the message its recipient got.
    message_ids = {m["Message-ID"].strip("<>") for m in relay.messages()}
    assert message_ids == set(sent.values_list("message_id", flat=True))


def test_it_sends_one_round_trip_per_message_where_the_server_pipelines(relay):
    _sending_dispatch()

    delivery_batch_send(dispatch_id=Dispatch.objects.get().pk)

    # MAIL, RCPT and DATA in one write, and the next message's MAIL with the end of DATA:
    # one message per connection (its last) has no successor in the same write.
    # (A write the socket could not take whole may arrive in two parts, hence the margin.)
    assert relay.pipelined_at_mail > ROWS * 0.9
    assert relay.pipelined_after_data > (ROWS - CONNECTIONS) * 0.9


def test_it_talks_one_command_at_a_time_to_a_server_without_pipelining(relay):
    relay.pipelining = False
    relay.fail_always["lasare7@example.se"] = "550 5.1.1 User unknown"
    addresses, dispatch = _sending_dispatch()

    result = delivery_batch_send(dispatch_id=dispatch.pk)

    assert result.sent == ROWS - 1 and result.failed == 1
    assert relay.pipelined_at_mail == 0 and relay.pipelined_after_data == 0
    assert sorted(relay.recipients()) == sorted(set(addresses) - {"lasare7@example.se"})
    assert relay.max_open_transactions > 1


def test_it_fails_only_the_message_whose_recipient_or_data_is_refused_mid_pipeline(relay):
    relay.fail_always["lasare10@example.se"] = "550 5.1.1 User unknown"
    relay.fail_always["lasare11@example.se"] = "550 5.1.1 User unknown"  # two in a row
    relay.fail_once["lasare40@example.se"] = "452 4.2.2 Mailbox full"
    relay.fail_data_once["lasare70@example.se"] = "554 5.6.0 Message refused"
    addresses, dispatch = _sending_dispatch()

    result = delivery_batch_send(dispatch_id=dispatch.pk)

    refused = {"lasare10@example.se", "lasare11@example.se", "lasare70@example.se"}
    later = {"lasare40@example.se"}
    counts = collections.Counter(relay.recipients())
    assert set(counts) == set(addresses) - refused - later
    assert max(counts.values()) == 1
    assert (result.sent, result.failed, result.retried) == (ROWS - 4, 3, 1)
    rows = {row.email: row for row in Delivery.objects.all()}
    assert rows["lasare10@example.se"].status == DeliveryStatus.FAILED
    assert "5.1.1" in rows["lasare11@example.se"].smtp_reply
    assert rows["lasare70@example.se"].status == DeliveryStatus.FAILED
    assert rows["lasare40@example.se"].status == DeliveryStatus.QUEUED
    assert rows["lasare40@example.se"].next_attempt_at is not None
    # An unknown user is suppressed; a refused message is not the reader's fault.
    statuses = dict(Subscriber.objects.values_list("email", "status"))
    assert statuses["lasare10@example.se"] == SubscriberStatus.BOUNCED
    assert statuses["lasare70@example.se"] == SubscriberStatus.ACTIVE
    # The neighbours of the refused ones in the pipeline went through.
    assert {"lasare9@example.se", "lasare12@example.se", "lasare71@example.se"} <= set(counts)


def test_it_reconnects_after_the_messages_allowed_per_connection(relay, settings):
    settings.SEND_MESSAGES_PER_CONNECTION = 7
    addresses, dispatch = _sending_dispatch()

    result = delivery_batch_send(dispatch_id=dispatch.pk)

    assert result.sent == ROWS
    assert sorted(relay.recipients()) == sorted(addresses)
    assert relay.connections >= math.ceil(ROWS / 7)


def test_it_never_opens_more_connections_to_the_relay_than_allowed_across_batches(relay, settings):
    settings.SEND_MAX_CONNECTIONS_PER_RELAY = 3
    settings.SEND_BATCH_SIZE = ROWS // 2
    addresses, dispatch = _sending_dispatch()
    results: list = []

    # Two batches at once (as two workers would run them) share the relay's three slots.
    threads = [_batch_in_thread(dispatch.pk, results) for _ in range(2)]
    for thread in threads:
        thread.join(timeout=60)

    assert relay.max_open_transactions <= 3
    assert all(result.connections <= 3 for result in results)
    # A batch that found no slot free claimed nothing; the other claims on until it is done.
    assert all(result.claimed == 0 for result in results if result.relay_busy)
    assert sum(result.sent for result in results) == ROWS
    assert sorted(relay.recipients()) == sorted(addresses)
    assert not Delivery.objects.filter(status=DeliveryStatus.SENDING).exists()


def test_a_batch_at_work_leaves_a_waiting_batch_an_equal_share_of_the_relay(relay, settings):
    """One batch holds every slot; another (a second worker's) finds none and says it waits.
    At its next status check the first ends half its connections once their messages are
    answered, and the second, waiting a moment for them, gets those slots."""
    settings.SEND_MAX_CONNECTIONS_PER_RELAY = CONNECTIONS
    settings.SEND_BATCH_SIZE = 400
    settings.SEND_STATUS_CHECK_EVERY = 20
    relay.delay = 0.05  # each message waits at RCPT: the first batch takes seconds
    first_readers = segment_make(slug="lasare")
    second_readers = segment_make(slug="andra")
    first = [
        subscriber_make(email=f"lasare{n}@example.se", segments=[first_readers]).email
        for n in range(400)
    ]
    second = [
        subscriber_make(email=f"andra{n}@example.se", segments=[second_readers]).email
        for n in range(80)
    ]
    call_command("send_issue", sendable_issue_make().slug, "--segment", "lasare")
    other_issue = sendable_issue_make(slug="2018-2", title="Länsnytt 2018:2")
    call_command("send_issue", other_issue.slug, "--segment", "andra")
    first_dispatch, second_dispatch = Dispatch.objects.order_by("pk")
    results: list = []
    thread = _batch_in_thread(first_dispatch.pk, results)
    wait_until(lambda: relay.open_connections >= CONNECTIONS, timeout=20, message="not open")

    tries = []
    while True:
        tries.append(delivery_batch_send(dispatch_id=second_dispatch.pk))
        if not tries[-1].relay_busy:
            break
        assert len(tries) < 10, "the waiting batch never got a slot"
        time.sleep(settings.SEND_RELAY_BUSY_RETRY_SECONDS)
    second_open_at_end = relay.open_connections
    thread.join(timeout=120)

    assert len(tries) == 1  # no relay-busy round: the share came within the wait
    assert tries[-1].connections == CONNECTIONS // 2
    assert tries[-1].sent == len(second)
    assert results[0].sent == len(first) and results[0].connections == CONNECTIONS
    assert relay.max_open_connections <= CONNECTIONS
    assert second_open_at_end <= CONNECTIONS // 2  # the first batch kept its half only
    counts = collections.Counter(relay.recipients())
    assert set(counts) == set(first) | set(second) and max(counts.values()) == 1
    assert not Delivery.objects.exclude(status=DeliveryStatus.SENT).exists()


def test_it_claims_nothing_while_other_workers_hold_every_slot_of_the_relay(relay, settings):
    settings.SEND_MAX_CONNECTIONS_PER_RELAY = 2
    _sending_dispatch()
    elsewhere = RelaySlots(RelayConfig(relay.url, timeout=5).where)
    assert elsewhere.take(5) == 2  # another worker has them

    result = delivery_batch_send(dispatch_id=Dispatch.objects.get().pk)
    elsewhere.release()

    assert result.relay_busy and result.claimed == 0
    assert relay.connections == 0
    assert Delivery.objects.filter(status=DeliveryStatus.QUEUED).count() == ROWS
    assert Delivery.objects.filter(attempts=0).count() == ROWS


def test_it_keeps_every_connection_s_rows_through_replies_slower_than_the_lease(relay, settings):
    settings.DELIVERY_CLAIM_SECONDS = 3
    addresses, dispatch = _sending_dispatch()
    relay.hold_after = 10  # then every connection waits at RCPT, three leases long
    results: list = []
    thread = _batch_in_thread(dispatch.pk, results)
    wait_until(lambda: relay.held >= CONNECTIONS, timeout=20, message="connections not held")

    requeued = 0
    held_until = time.monotonic() + 9
    while time.monotonic() < held_until:
        requeued += deliveries_sweep().requeued
        time.sleep(0.5)
    relay.release()
    thread.join(timeout=60)

    assert requeued == 0
    assert results[0].sent == ROWS
    assert sorted(relay.recipients()) == sorted(addresses)


def test_it_stops_every_connection_once_the_lease_cannot_be_renewed(relay, settings):
    import psycopg

    from tests.commands import testdb_url

    settings.DELIVERY_CLAIM_SECONDS = 3
    _sending_dispatch()
    relay.hold_after = 10
    results: list = []
    thread = _batch_in_thread(Dispatch.objects.get().pk, results)
    wait_until(lambda: relay.held >= CONNECTIONS, timeout=20, message="connections not held")
    # Every connection waits at RCPT now; some finished a message after the tenth.
    before_the_lapse = len(relay.recipients())
    with psycopg.connect(testdb_url()) as lock:
        lock.execute("SELECT id FROM worker_delivery WHERE status = 'sending' FOR UPDATE")
        time.sleep(3)
        relay.release()  # the messages in flight finish; no connection may start another
        time.sleep(3)
        accepted_while_lapsed = len(relay.recipients())
        lock.rollback()
    thread.join(timeout=30)

    assert accepted_while_lapsed == before_the_lapse + CONNECTIONS
    assert results[0].lease_lost
    assert len(relay.recipients()) == before_the_lapse + CONNECTIONS
    # The untried rows are left to the sweeper, which takes them back once the lease is out.
    untried = ROWS - before_the_lapse - CONNECTIONS
    assert Delivery.objects.filter(status=DeliveryStatus.SENDING).count() == untried


def test_it_records_a_server_reply_that_looks_like_json_or_sql_as_it_came(relay):
    """The records go to PostgreSQL as one JSON document: a reply (the server's text, not
    ours) with quotes, backslashes, braces and non-ASCII is stored as it came, on its row."""
    addresses, dispatch = _sending_dispatch(people=40)
    reply = '250 2.0.0 Ok "köad" som \\q{n} {{"i": 0, "c": null}}\'); DROP TABLE x; --'

    relay.on_data_end = lambda address, attempt: reply.format(n=address[6:8])
    result = delivery_batch_send(dispatch_id=dispatch.pk)

    assert result.sent == 40
    rows = Delivery.objects.filter(status=DeliveryStatus.SENT)
    assert sorted(rows.values_list("email", flat=True)) == sorted(addresses)
    for row in rows:
        assert row.smtp_reply == reply.format(n=row.email[6:8])
        assert row.claim_token is None and row.finished_at == row.sent_at


def test_it_breaks_a_connection_whose_reply_is_late_by_the_default_timeout(relay, settings):
    """EMAIL_TIMEOUT at its default: the connection waiting for a reply breaks between one
    and 1.1 timeouts after the wait began (one timer per connection keeps it), its message is
    tried again later, and the other connections go on meanwhile."""
    timeout = settings.EMAIL_TIMEOUT
    assert timeout == 30  # lansnytt/settings.py's default
    addresses, dispatch = _sending_dispatch()
    delayed: list[float] = []
    lock = threading.Lock()

    def reply_delay() -> float:
        with lock:
            if len(relay.received) >= 10 and not delayed:
                delayed.append(time.monotonic())
                return timeout + 15  # longer than the timeout: the client must not wait
        return 0

    relay.reply_delay = reply_delay
    result = delivery_batch_send(dispatch_id=dispatch.pk)
    waited = time.monotonic() - delayed[0]

    assert timeout <= waited < timeout * 1.1 + 3
    assert (result.sent, result.retried) == (ROWS - 1, 1)
    late = Delivery.objects.get(status=DeliveryStatus.QUEUED)
    assert late.attempts == 1 and f"no reply within {timeout}" in late.last_error
    assert late.next_attempt_at is not None
    sent = set(Delivery.objects.filter(status=DeliveryStatus.SENT).values_list("email", flat=True))
    assert sent == set(addresses) - {late.email}


def _rate_schedule_cleared(settings) -> None:
    # The schedule is shared through Redis (worker/ratelimit.py): start from an empty one.
    if settings.REDIS_URL:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).delete("lansnytt:send-rate:tat")


def test_it_honours_the_global_rate_limit_across_all_connections(relay, settings):
    settings.SEND_RATE_PER_MINUTE = 60  # one a second, no burst (GCRA)
    settings.SEND_BATCH_SIZE = 60  # four connections
    _rate_schedule_cleared(settings)
    addresses, dispatch = _sending_dispatch(people=10)
    results: list = []
    started = time.monotonic()
    thread = _batch_in_thread(dispatch.pk, results)
    time.sleep(4)
    in_four_seconds = len(relay.recipients())
    elapsed = time.monotonic() - started
    thread.join(timeout=120)

    # The places due by then: one at once, then one a second (a busy machine sends fewer).
    assert 1 <= in_four_seconds <= int(elapsed) + 1
    assert results[0].connections == 1  # ten rows: one connection
    assert sorted(relay.recipients()) == sorted(addresses)


@pytest.mark.slow
def test_it_shares_the_rate_limit_between_batches_each_with_several_connections(relay, settings):
    settings.SEND_RATE_PER_MINUTE = 120  # one every 0.5 s, two at once at most (GCRA)
    settings.SEND_BATCH_SIZE = 60  # four connections each
    settings.SEND_STATUS_CHECK_EVERY = 1  # so that the pause below ends the test soon
    _rate_schedule_cleared(settings)
    _sending_dispatch(people=60)
    # A second dispatch (another issue to the same readers), so that each batch has rows of
    # its own whatever the other one claims.
    call_command("send_issue", sendable_issue_make(slug="2018-2", title="Länsnytt 2018:2").slug)
    results: list = []
    started = time.monotonic()
    threads = [
        _batch_in_thread(dispatch_id, results)
        for dispatch_id in Dispatch.objects.values_list("pk", flat=True)
    ]
    time.sleep(5)
    in_five_seconds = len(relay.recipients())
    elapsed = time.monotonic() - started
    Dispatch.objects.update(status="paused")
    for thread in threads:
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in threads)
    assert [result.connections for result in results] == [4, 4]
    # Eight connections in two batches share one schedule: two at once, then one every
    # 0.5 s (without the limit they would send all 120 in this time).
    assert 1 <= in_five_seconds <= int(elapsed / 0.5) + 2
    assert len(relay.recipients()) <= 120


def test_it_delivers_lines_starting_with_a_dot_unchanged_over_the_pipeline(relay):
    from newsletter.rendering import issue_render
    from worker.outgoing import message_template_for, recipient_make

    readers = segment_make(slug="lasare")
    dotted = subscriber_make(email="punkt@example.se", name=".Punkt", segments=[readers])
    plain = subscriber_make(email="vanlig@example.se", name="Vanlig Läsare", segments=[readers])
    issue = sendable_issue_make(
        intro=".En rad som börjar med punkt\n\n..och en med två " + "x" * 60 + ".mjukt bruten"
    )
    call_command("send_issue", issue.slug)

    result = delivery_batch_send(dispatch_id=Dispatch.objects.get().pk)

    assert result.sent == 2
    template = message_template_for(issue=issue, language="sv")
    rendered = issue_render(issue=issue, language="sv")
    assert ".En rad som börjar med punkt" in rendered.text + rendered.html
    for subscriber in (dotted, plain):
        delivery = Delivery.objects.get(subscriber=subscriber)
        [(address, content)] = [item for item in relay.received if item[0] == subscriber.email]
        date = next(
            line[6:] for line in content.decode().split("\r\n") if line.startswith("Date: ")
        )
        expected = template.render(
            recipient_make(
                subscriber_id=subscriber.pk,
                email=subscriber.email,
                name=subscriber.name,
                delivery_id=delivery.pk,
                dispatch_id=delivery.dispatch_id,
            ),
            date=date,
        )
        # aiosmtpd undoes the dot-stuffing: what arrives is the message as built (the MIME
        # boundary is random per prepared template).
        boundary = re.compile(rb'boundary="([^"]+)"')
        expected = expected.replace(
            boundary.search(expected).group(1), boundary.search(content).group(1)
        )
        assert content == expected
        assert b"\r\n." in expected or expected.startswith(b".")


def test_it_treats_552_to_rcpt_as_transient_and_552_at_the_end_of_data_as_permanent(relay):
    relay.fail_once["lasare20@example.se"] = "552 5.5.3 Too many recipients"
    relay.fail_data_once["lasare30@example.se"] = "552 5.3.4 Message size exceeds fixed maximum"
    addresses, dispatch = _sending_dispatch()

    result = delivery_batch_send(dispatch_id=dispatch.pk)

    assert (result.sent, result.failed, result.retried) == (ROWS - 2, 1, 1)
    rows = {row.email: row for row in Delivery.objects.all()}
    # RFC 5321 4.5.3.1.10: the old "too many recipients", tried again later.
    assert rows["lasare20@example.se"].status == DeliveryStatus.QUEUED
    assert rows["lasare20@example.se"].attempts == 1
    # Too big for this server: failed for good, but the address is not to blame.
    assert rows["lasare30@example.se"].status == DeliveryStatus.FAILED
    assert "552 5.3.4" in rows["lasare30@example.se"].smtp_reply
    statuses = dict(Subscriber.objects.values_list("email", "status"))
    assert statuses["lasare30@example.se"] == SubscriberStatus.ACTIVE


def test_it_sends_everything_uncharged_when_some_connections_get_a_421_greeting(relay):
    def greeting(number: int) -> str | None:
        # The first connection is turned away once (tried again at once), then every third.
        if number == 1 or number % 3 == 0:
            return "421 4.3.2 Too many connections, try again later"
        return None

    relay.on_connect = greeting
    addresses, dispatch = _sending_dispatch()

    result = delivery_batch_send(dispatch_id=dispatch.pk)

    assert relay.injected["connect 421"] >= 2
    assert not result.transport_down
    assert result.sent == ROWS and (result.failed, result.retried) == (0, 0)
    assert sorted(relay.recipients()) == sorted(addresses)
    # A turned-away connection is the server's state, not an attempt of a recipient's.
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}


def test_it_gives_every_row_back_uncharged_when_every_greeting_is_421(relay, settings):
    relay.on_connect = lambda number: "421 4.3.2 Service not available"
    addresses, dispatch = _sending_dispatch()

    result = delivery_batch_send(dispatch_id=dispatch.pk)

    # The first connection, tried twice; the others never open against a dead server.
    assert relay.injected["connect 421"] == 2
    assert result.transport_down and result.sent == 0 and result.released == ROWS
    rows = Delivery.objects.all()
    assert set(rows.values_list("status", flat=True)) == {DeliveryStatus.QUEUED}
    assert set(rows.values_list("attempts", flat=True)) == {0}
    # The wait is on the rows, so the sweeper does not start a batch against it at once.
    not_before = timezone.now() + timedelta(seconds=settings.SEND_TRANSPORT_RETRY_SECONDS - 5)
    assert all(row.next_attempt_at > not_before for row in rows)


def test_it_gives_each_delivery_its_own_envelope_sender_over_the_pipeline(relay, settings):
    settings.BOUNCE_ADDRESS = "bounces@lansnytt.example.org"
    addresses, dispatch = _sending_dispatch(people=40)

    result = delivery_batch_send(dispatch_id=dispatch.pk)

    assert result.sent == 40
    for row in Delivery.objects.all():
        # VERP (worker/verp.py): a bounce names its delivery, whichever connection sent it.
        assert relay.envelope_senders[row.email].startswith(f"bounces+{row.pk}-")
        assert relay.envelope_senders[row.email].endswith("@lansnytt.example.org")


def test_it_sends_a_batch_from_a_thread_that_already_runs_an_event_loop(relay):
    # A test process driving a browser (Playwright's sync API) keeps a loop running in its
    # main thread; asyncio.run cannot start a second one there.
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    addresses, dispatch = _sending_dispatch(people=20)

    async def caller():
        return delivery_batch_send(dispatch_id=dispatch.pk)

    def thread_with_a_loop():
        # A thread of its own: this test's thread may itself run a loop (a browser test ran).
        from django.db import connection

        try:
            return asyncio.run(caller())
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(thread_with_a_loop).result()

    assert result.sent == 20
    assert sorted(relay.recipients()) == sorted(addresses)
