"""Real worker processes whose batches each keep several SMTP connections busy: exactly once
per recipient, pause and cancel with messages in flight on every connection, and kill -9.

The workers get SEND_BATCH_SIZE 100, so that each batch opens seven connections
(ROWS_PER_CONNECTION_AT_LEAST rows each) at the default SEND_CONNECTIONS; the kill test runs
with the default lease and sweep.

What a kill -9 can send twice is what the server accepted and the recorder had not written:
per batch the recorder's QUEUE_LENGTH plus one message per connection, so per killed worker
POOL × (QUEUE_LENGTH + connections per batch) (worker/conversations.py).
"""

import collections
import math
import time

import pytest
from django.core.management import call_command

from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.sending.test_sending_controls import settled_count
from tests.sending.test_sending_crash import _kill_between_250_and_record, _kill_while_held
from tests.workers import wait_until
from worker.models import Delivery, DeliveryStatus, Dispatch, DispatchStatus
from worker.recording import QUEUE_LENGTH
from worker.services import dispatch_cancel, dispatch_pause, dispatch_resume

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

POOL = 2  # tests/workers.py: --concurrency 2
BATCH_SIZE = 100
CONNECTIONS_PER_BATCH = math.ceil(BATCH_SIZE / 16)  # worker.sending.ROWS_PER_CONNECTION_AT_LEAST
DUPLICATES_AT_MOST = POOL * (QUEUE_LENGTH + CONNECTIONS_PER_BATCH)
RECOVERY_SECONDS = 60
PEOPLE = 400


def _dispatch_to(people: int) -> tuple[list[str], Dispatch]:
    readers = segment_make(slug="lasare")
    addresses = [
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers]).email
        for n in range(people)
    ]
    call_command("send_issue", sendable_issue_make().slug)
    return addresses, Dispatch.objects.get()


def _done(dispatch: Dispatch):
    return Dispatch.objects.get(pk=dispatch.pk).status == DispatchStatus.DONE


def test_it_delivers_exactly_once_over_several_connections_per_worker(celery_workers, smtp_server):
    from worker.sending import ROWS_PER_CONNECTION_AT_LEAST

    assert math.ceil(BATCH_SIZE / ROWS_PER_CONNECTION_AT_LEAST) == CONNECTIONS_PER_BATCH
    smtp_server.delay = 0.005
    smtp_server.fail_always["lasare33@example.se"] = "550 5.1.1 User unknown"
    for _ in range(2):
        celery_workers.start(SEND_BATCH_SIZE=str(BATCH_SIZE))
    addresses, dispatch = _dispatch_to(PEOPLE)

    wait_until(lambda: _done(dispatch), timeout=120, message="dispatch did not finish")

    counts = collections.Counter(smtp_server.recipients())
    assert set(counts) == set(addresses) - {"lasare33@example.se"}
    assert max(counts.values()) == 1
    # Conversations overlapped: more at once than the pool processes could hold one each.
    assert smtp_server.max_open_transactions > 2 * POOL
    assert smtp_server.pipelined_after_data > PEOPLE // 2
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == PEOPLE - 1


def test_it_pauses_every_connection_and_resume_finishes_without_resending(
    celery_workers, smtp_server
):
    smtp_server.delay = 0.01
    celery_workers.start(SEND_BATCH_SIZE=str(BATCH_SIZE))
    addresses, dispatch = _dispatch_to(PEOPLE)
    wait_until(lambda: len(smtp_server.recipients()) >= 60, message="sending never started")

    dispatch_pause(dispatch=dispatch)
    at_pause = len(smtp_server.recipients())
    after_pause = settled_count(smtp_server)

    # Each batch looks at the status every SEND_STATUS_CHECK_EVERY (4 here) rows it takes;
    # while it looks, each connection may take one more, and each has at most two messages
    # on the wire (one body, one envelope).
    assert after_pause - at_pause <= POOL * (4 + 3 * CONNECTIONS_PER_BATCH)
    assert after_pause < PEOPLE
    assert not Delivery.objects.filter(status=DeliveryStatus.SENDING).exists()

    dispatch_resume(dispatch=dispatch)
    wait_until(lambda: _done(dispatch), timeout=120, message="resumed dispatch did not finish")
    counts = collections.Counter(smtp_server.recipients())
    assert set(counts) == set(addresses)
    assert max(counts.values()) == 1


def test_it_cancels_with_messages_in_flight_and_sends_nothing_more(celery_workers, smtp_server):
    smtp_server.delay = 0.01
    celery_workers.start(SEND_BATCH_SIZE=str(BATCH_SIZE))
    addresses, dispatch = _dispatch_to(PEOPLE)
    wait_until(lambda: len(smtp_server.recipients()) >= 60, message="sending never started")

    dispatch_cancel(dispatch=dispatch)
    settled = settled_count(smtp_server)
    time.sleep(2)

    assert len(smtp_server.recipients()) == settled < PEOPLE
    counts = collections.Counter(smtp_server.recipients())
    assert max(counts.values()) == 1
    wait_until(
        lambda: not Delivery.objects.filter(status=DeliveryStatus.SENDING).exists(),
        timeout=30,
        message="rows stayed in sending",
    )
    sent = Delivery.objects.filter(status=DeliveryStatus.SENT).count()
    assert sent == settled
    assert Delivery.objects.filter(status=DeliveryStatus.CANCELLED).count() == PEOPLE - sent


def _kill_after_250s_once_the_earlier_ones_are_recorded(celery_workers, worker, smtp_server):
    # Everything accepted before the hold must be on record first (the recorder writes a
    # group a moment after its first 250), or it would be repeated without being in the
    # window the kill opens.
    wait_until(
        lambda: (
            Delivery.objects.filter(status=DeliveryStatus.SENT).count() == len(smtp_server.received)
        ),
        timeout=30,
        message="records of the messages before the hold",
    )
    return _kill_between_250_and_record(celery_workers, worker, smtp_server)


STAGES = {
    # name: (command held, accepted before the hold, kill)
    "before-end-of-DATA": ("DATA", 150, _kill_while_held),
    "between-250-and-record": ("RCPT", 150, _kill_after_250s_once_the_earlier_ones_are_recorded),
}


@pytest.mark.parametrize("stage", list(STAGES))
def test_it_recovers_from_kill_9_with_connections_in_flight_within_a_minute(
    stage, celery_workers, smtp_server, redis_purged
):
    hold_at, hold_after, kill = STAGES[stage]
    smtp_server.hold_at, smtp_server.hold_after = hold_at, hold_after
    first = celery_workers.start(default_timings=True, SEND_BATCH_SIZE=str(BATCH_SIZE))
    addresses, dispatch = _dispatch_to(PEOPLE)
    # Both pool processes' batches, with every connection of each waiting at the hold.
    wait_until(
        lambda: smtp_server.held >= POOL * CONNECTIONS_PER_BATCH,
        timeout=90,
        message="the connections were never all held",
    )

    window = kill(celery_workers, first, smtp_server)
    started = time.monotonic()
    celery_workers.start(default_timings=True, SEND_BATCH_SIZE=str(BATCH_SIZE))
    wait_until(
        lambda: _done(dispatch),
        timeout=RECOVERY_SECONDS + 60,
        interval=0.1,
        message="dispatch did not complete after the restart",
    )
    recovered = time.monotonic() - started

    counts = collections.Counter(smtp_server.recipients())
    repeated = sorted(address for address, count in counts.items() if count > 1)
    print(
        f"\n[{stage}] {POOL} × {CONNECTIONS_PER_BATCH} connections in flight; "
        f"{len(window)} accepted but unrecorded; recovered in {recovered:.1f} s; "
        f"{len(repeated)} repeated (bound {DUPLICATES_AT_MOST})"
    )
    assert set(counts) == set(addresses)
    assert repeated == sorted(window)
    assert all(counts[address] == 2 for address in repeated)
    assert len(repeated) <= DUPLICATES_AT_MOST
    if stage == "between-250-and-record":
        assert window, "the kill never fell between a 250 and its record"
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == PEOPLE
    assert recovered < RECOVERY_SECONDS
