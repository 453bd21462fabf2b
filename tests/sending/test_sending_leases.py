"""Leases and claim tokens: a live batch keeps its rows however slow the server, a row taken
back from a batch is out of that batch's reach, and a batch that cannot renew stops sending.

The batch runs in a thread of the test process against the loopback SMTP server, with the
recorder and heartbeat threads it has in a worker. The lease is shortened to 3 s here: that
makes a lapse easier to provoke, so it is the harder test for the lease, not an easier one.
"""

import threading
import time

import psycopg
import pytest
from django.core.management import call_command

from tests.commands import testdb_url
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.workers import wait_until
from worker.leases import claims_renew
from worker.models import Delivery, DeliveryStatus, Dispatch
from worker.recording import (
    SentRecord,
    deliveries_release,
    record_failed,
    record_transient,
    records_sent_write,
)
from worker.sending import BatchResult, deliveries_claim, delivery_batch_send
from worker.services import deliveries_sweep

pytestmark = pytest.mark.django_db(transaction=True)

LEASE = 3


@pytest.fixture
def short_lease(settings, smtp_server):
    settings.DELIVERY_CLAIM_SECONDS = LEASE
    settings.EMAIL_URL = smtp_server.url
    settings.SEND_BATCH_SIZE = 5


def _sending_dispatch(people: int = 5) -> Dispatch:
    readers = segment_make(slug="lasare")
    for n in range(people):
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers])
    call_command("send_issue", sendable_issue_make().slug)  # the start task waits in Redis
    return Dispatch.objects.get()


def _batch_in_thread(dispatch: Dispatch) -> tuple[threading.Thread, list[BatchResult]]:
    results: list[BatchResult] = []

    def run() -> None:
        from django.db import connection

        try:
            results.append(delivery_batch_send(dispatch_id=dispatch.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, results


def test_it_keeps_a_live_batch_s_rows_through_a_reply_slower_than_the_lease(
    short_lease, smtp_server, redis_purged
):
    dispatch = _sending_dispatch()
    smtp_server.hold_after = 1  # the second message waits at RCPT, three leases long
    thread, results = _batch_in_thread(dispatch)
    wait_until(lambda: smtp_server.held, timeout=20, message="the batch never got held")

    requeued = 0
    held_until = time.monotonic() + 3 * LEASE
    while time.monotonic() < held_until:
        requeued += deliveries_sweep().requeued
        time.sleep(0.5)
    smtp_server.release()
    thread.join(timeout=30)

    assert requeued == 0
    assert results[0].sent == 5
    assert sorted(smtp_server.recipients()) == [f"lasare{n}@example.se" for n in range(5)]


def test_it_stops_a_batch_before_its_next_message_once_it_cannot_renew(
    short_lease, smtp_server, redis_purged
):
    dispatch = _sending_dispatch()
    smtp_server.hold_after = 1
    thread, results = _batch_in_thread(dispatch)
    wait_until(lambda: smtp_server.held, timeout=20, message="the batch never got held")
    with psycopg.connect(testdb_url()) as lock:
        # Renewals now wait on the lock, as they would on a database out of reach.
        lock.execute("SELECT id FROM worker_delivery WHERE status = 'sending' FOR UPDATE")
        time.sleep(LEASE)
        smtp_server.release()  # the message in flight finishes; no further one may start
        time.sleep(LEASE)
        accepted_while_lapsed = smtp_server.recipients()
        lock.rollback()
    thread.join(timeout=30)

    assert len(accepted_while_lapsed) == 2
    assert results[0].lease_lost and results[0].stopped
    assert len(smtp_server.recipients()) == 2
    # The untried rows are left to the sweeper, which takes them back once the lease is out.
    assert Delivery.objects.filter(status=DeliveryStatus.SENDING).count() == 3
    wait_until(lambda: deliveries_sweep().requeued == 3, timeout=2 * LEASE)


def _claimed_by_another_batch_after_a_sweep(dispatch):
    """A batch's rows are swept back and claimed by a second batch: the first is stale."""
    stale = deliveries_claim(dispatch_id=dispatch.pk, limit=5)
    Delivery.objects.update(claimed_until="2000-01-01T00:00:00Z")
    assert deliveries_sweep().requeued == 5
    fresh = deliveries_claim(dispatch_id=dispatch.pk, limit=5)
    assert [row.id for row in fresh] == [row.id for row in stale]
    return stale, fresh


def test_it_renews_only_its_own_rows_not_those_another_batch_now_holds(short_lease, redis_purged):
    dispatch = _sending_dispatch()
    stale, fresh = _claimed_by_another_batch_after_a_sweep(dispatch)
    before = dict(Delivery.objects.values_list("id", "claimed_until"))

    assert claims_renew(dispatch_id=dispatch.pk, claims=[stale[0].claim]) == 0
    assert dict(Delivery.objects.values_list("id", "claimed_until")) == before
    assert claims_renew(dispatch_id=dispatch.pk, claims=[fresh[0].claim]) == 5


def test_one_renewal_extends_every_claim_of_a_batch_and_only_their_rows_in_flight(
    short_lease, redis_purged
):
    from django.db.models.functions import Now

    dispatch = _sending_dispatch(people=15)
    first = deliveries_claim(dispatch_id=dispatch.pk, limit=5)
    second = deliveries_claim(dispatch_id=dispatch.pk, limit=5)
    other_batch = deliveries_claim(dispatch_id=dispatch.pk, limit=5)
    Delivery.objects.update(claimed_until="2000-01-01T00:00:00Z")
    Delivery.objects.filter(id=first[0].id).update(status=DeliveryStatus.SENT)  # recorded

    renewed = claims_renew(dispatch_id=dispatch.pk, claims=[first[0].claim, second[0].claim])

    assert renewed == 9
    extended = set(Delivery.objects.filter(claimed_until__gt=Now()).values_list("id", flat=True))
    assert extended == {row.id for row in first[1:] + second}
    assert not extended & {row.id for row in other_batch}


def test_it_ignores_a_late_record_or_release_from_a_batch_that_lost_its_rows(
    short_lease, redis_purged
):
    from django.utils import timezone

    dispatch = _sending_dispatch()
    stale, fresh = _claimed_by_another_batch_after_a_sweep(dispatch)

    records_sent_write(
        [SentRecord(delivery=stale[0], reply="250 OK", message_id="<x@y>", sent_at=timezone.now())]
    )
    record_failed(stale[1], error="550 no")
    record_transient(stale[2], error="451 later")
    deliveries_release(ids=[stale[3].id, stale[4].id], claim=stale[0].claim)

    rows = Delivery.objects.order_by("id").values_list("status", "claim_token", "attempts")
    assert list(rows) == [(DeliveryStatus.SENDING, fresh[0].claim, 2)] * 5
