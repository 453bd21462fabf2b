"""A batch's connections survive being terminated, and only when that is safe.

The fault tests (test_sending_faults_database.py) show the whole pipeline through a
terminated backend and a crashed PostgreSQL; these look at the two pieces one at a time, in
the test process, with real backends terminated by pg_terminate_backend: the loop's
`reconnecting` (worker/connections.py) and the recorder writing its batch again.
"""

import threading

import psycopg
import pytest
from django.core.management import call_command
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from tests.commands import testdb_url
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.workers import wait_until
from worker.connections import reconnecting
from worker.models import Delivery, DeliveryStatus, Dispatch
from worker.recording import QUEUE_LENGTH, SentRecord, ThreadRecorder
from worker.sending import deliveries_claim

pytestmark = pytest.mark.django_db(transaction=True)


def _terminate(pid: int) -> None:
    with psycopg.connect(testdb_url(), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]


def _own_backend() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _count_calls(statement: str):
    calls = []

    def call():
        calls.append(1)
        with connection.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchone()[0]

    return call, calls


def test_it_runs_a_statement_again_on_a_new_connection_when_the_old_one_was_terminated():
    old = _own_backend()
    _terminate(old)
    call, calls = _count_calls("SELECT pg_backend_pid()")

    assert reconnecting(call) != old
    assert len(calls) == 2


def test_it_does_not_retry_inside_a_transaction_where_the_work_before_is_gone_too():
    call, calls = _count_calls("SELECT 1")
    with pytest.raises(OperationalError), transaction.atomic():
        _terminate(_own_backend())
        reconnecting(call)
    assert len(calls) == 1
    connection.close()


def test_it_does_not_retry_a_statement_that_failed_on_a_live_connection():
    # A cancelled statement is an OperationalError too, but the connection is fine: running
    # it again would hide the error, not recover from a lost connection.
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout TO 50")
    call, calls = _count_calls("SELECT pg_sleep(1)")
    try:
        with pytest.raises(OperationalError):
            reconnecting(call)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
    assert len(calls) == 1


def _claimed(redis_purged, people: int = 4):
    readers = segment_make(slug="lasare")
    for n in range(people):
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers])
    call_command("send_issue", sendable_issue_make().slug)  # the start task waits in Redis
    return deliveries_claim(dispatch_id=Dispatch.objects.get().pk, limit=people)


def _sent(delivery) -> SentRecord:
    return SentRecord(
        delivery=delivery, reply="250 OK", message_id=f"<{delivery.id}@x>", sent_at=timezone.now()
    )


def _recorder_backend() -> int:
    with psycopg.connect(testdb_url()) as admin:
        [pid] = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND query LIKE 'UPDATE worker_delivery AS d SET status = ''sent''%%'"
        ).fetchone()
    return pid


def test_it_writes_the_batch_again_after_a_lost_connection_restoring_records_a_crash_lost(
    redis_purged,
):
    first, second, stale, last = _claimed(redis_purged)
    recorder = ThreadRecorder()
    try:
        for delivery in (first, second, stale):
            recorder.sent(_sent(delivery))
            recorder.drain()
        # As a PostgreSQL crash that lost the last unflushed commits leaves them: the row
        # back in "sending" with the batch's claim token...
        Delivery.objects.filter(pk=second.id).update(
            status=DeliveryStatus.SENDING, claim_token=second.claim, sent_at=None
        )
        # ... while a row the sweeper took back and another batch claimed is not ours.
        Delivery.objects.filter(pk=stale.id).update(
            status=DeliveryStatus.SENDING, claim_token="00000000-0000-0000-0000-000000000001"
        )
        _terminate(_recorder_backend())
        recorder.sent(_sent(last))
        recorder.drain()
    finally:
        recorder.close()

    rows = dict(Delivery.objects.values_list("id", "status"))
    assert rows[first.id] == rows[second.id] == rows[last.id] == DeliveryStatus.SENT
    assert rows[stale.id] == DeliveryStatus.SENDING
    assert str(Delivery.objects.get(pk=stale.id).claim_token).endswith("0001")


def _record_against_another_writer(redis_purged, *, held_first: str, submitted: str):
    """The batch's two rows, another writer of them (a renewal, the sweeper) that holds the
    `held_first` one and then wants the other, and a group of records of both in the order
    `submitted` ("12" or "21"); returns the rows afterwards."""
    rows = dict(zip("12", _claimed(redis_purged, people=2), strict=True))
    recorder = ThreadRecorder()
    try:
        with psycopg.connect(testdb_url()) as other:
            update = "UPDATE worker_delivery SET last_error = 'x' WHERE id = %s"
            other.execute(update, [rows[held_first].id])
            for number in submitted:
                recorder.sent(_sent(rows[number]))
            wait_until(
                lambda: _waiting_on_a_lock("UPDATE worker_delivery AS d SET status = 'sent'"),
                timeout=10,
                message="the recorder never waited",
            )
            other.execute(update, [rows["2" if held_first == "1" else "1"].id])
            other.commit()
        recorder.drain()
    finally:
        recorder.close()
    return Delivery.objects.filter(pk__in=[row.id for row in rows.values()])


def _deadlocks(caplog) -> int:
    return sum("deadlock" in record.getMessage() for record in caplog.records)


def test_it_writes_a_group_again_that_postgresql_ended_to_break_a_deadlock(redis_purged, caplog):
    """The other writer holds the second row and then wants the first, which the group (in
    id order) locked before it waited for the second: each waits for the other. PostgreSQL
    ends the statement that waited longer, the recorder's, which writes its group again
    instead of failing the batch."""
    rows = _record_against_another_writer(redis_purged, held_first="2", submitted="12")

    assert _deadlocks(caplog) == 1
    assert {row.status for row in rows} == {DeliveryStatus.SENT}
    assert {row.last_error for row in rows} == {""}  # the records came after the other writer


def test_a_group_locks_its_rows_in_id_order_as_the_other_writers_do(redis_purged, caplog):
    """Records that came in out of order are written in id order: against a writer that
    locks the rows in id order (the renewal, the releases, by index) the group waits for the
    first row without holding the second, and no deadlock arises."""
    rows = _record_against_another_writer(redis_purged, held_first="1", submitted="21")

    assert _deadlocks(caplog) == 0
    assert {row.status for row in rows} == {DeliveryStatus.SENT}


def test_reconnecting_runs_a_statement_again_that_was_ended_to_break_a_deadlock(redis_purged):
    """The heartbeat's renewal and the releases go through reconnecting(): a deadlock there
    is run again at once too (connections.deadlocked)."""
    from worker.leases import claims_renew

    first, second = _claimed(redis_purged, people=2)
    claim, dispatch_id = first.claim, Dispatch.objects.get().pk
    renewed: list[int] = []
    with psycopg.connect(testdb_url()) as other:
        other.execute("UPDATE worker_delivery SET last_error = 'x' WHERE id = %s", [second.id])
        renewal = threading.Thread(
            target=lambda: _in_own_connection(
                lambda: renewed.append(
                    reconnecting(lambda: claims_renew(dispatch_id=dispatch_id, claims=[claim]))
                )
            )
        )
        renewal.start()
        wait_until(
            lambda: _waiting_on_a_lock('UPDATE "worker_delivery" SET "claimed_until"'),
            timeout=10,
            message="the renewal never waited",
        )
        other.execute("UPDATE worker_delivery SET last_error = 'x' WHERE id = %s", [first.id])
        other.commit()
        renewal.join(timeout=30)

    assert renewed == [2]


def _in_own_connection(call) -> None:
    try:
        call()
    finally:
        connection.close()


def _waiting_on_a_lock(statement: str) -> bool:
    with psycopg.connect(testdb_url()) as admin:
        [waiting] = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND starts_with(query, %s) AND wait_event_type = 'Lock'",
            [statement],
        ).fetchone()
    return waiting == 1


def test_it_makes_the_records_durable_every_so_often_and_keeps_only_the_rest_to_write_again(
    redis_purged, monkeypatch
):
    """A batch that refills for long keeps its memory flat: every DURABLE_EVERY records one
    commit waits for the flush, and only the records after it are kept (and written again
    after a lost connection, since only they can have been lost by a crash)."""
    from worker import recording

    monkeypatch.setattr(recording, "DURABLE_EVERY", 2)
    flushes = []
    make_durable = recording.records_make_durable

    def counted(record):
        flushes.append(record.delivery.id)
        make_durable(record)

    monkeypatch.setattr(recording, "records_make_durable", counted)
    rows = _claimed(redis_purged, people=5)
    recorder = ThreadRecorder()
    try:
        for delivery in rows[:3]:
            recorder.sent(_sent(delivery))
            recorder.drain()
        assert flushes == [rows[1].id]  # the first two are on disk
        # Put both back as a lost commit would leave them: only the third can have been lost.
        for delivery in (rows[0], rows[2]):
            Delivery.objects.filter(pk=delivery.id).update(
                status=DeliveryStatus.SENDING, claim_token=delivery.claim, sent_at=None
            )
        _terminate(_recorder_backend())
        recorder.sent(_sent(rows[3]))
        recorder.drain()
    finally:
        recorder.close()

    status = dict(Delivery.objects.values_list("id", "status"))
    assert status[rows[2].id] == status[rows[3].id] == DeliveryStatus.SENT
    assert status[rows[0].id] == DeliveryStatus.SENDING  # durable before: not kept to rewrite
    assert flushes[:2] == [rows[1].id, rows[3].id]


def test_a_recorder_that_cannot_reach_the_database_fails_the_batch_before_any_message():
    """Its connection is opened when it is made, not at the first record: a batch whose
    recorder cannot write must stop while its rows are only claimed, not once the server
    has accepted messages that would then be sent again after the lease."""
    from django.db import connections

    from tests.smtp import free_port

    database = connections.settings["default"]
    port = database["PORT"]
    database["PORT"] = str(free_port())  # nothing listens there: the new thread's connection
    try:
        with pytest.raises(OperationalError):
            ThreadRecorder()
    finally:
        database["PORT"] = port
    recorder = ThreadRecorder()  # and one that can, as before
    recorder.drain()
    recorder.close()


def test_a_sender_that_found_the_recorder_full_is_told_once_the_writer_frees_slots(
    redis_purged,
):
    """The loop's connections wait for this instead of polling (conversations._record): the
    writer, held up by a real row lock, frees its slots only once it has written, and then
    calls back once."""
    people = QUEUE_LENGTH + 1
    claimed = _claimed(redis_purged, people=people)
    told = threading.Event()
    with psycopg.connect(testdb_url()) as blocker:
        # Another transaction holds the first row: the writer's UPDATE waits for it.
        blocker.execute("SELECT id FROM worker_delivery WHERE id = %s FOR UPDATE", [claimed[0].id])
        recorder = ThreadRecorder()
        try:
            assert all(recorder.submit_nowait(_sent(row)) for row in claimed[:QUEUE_LENGTH])
            assert not recorder.submit_nowait(_sent(claimed[-1]))  # every slot taken
            recorder.when_free(told.set)
            assert not told.wait(0.5)  # the writer is still held up by the lock
            blocker.rollback()  # the lock goes: the writer writes, frees, tells
            assert told.wait(10)
            assert recorder.submit_nowait(_sent(claimed[-1]))
            recorder.drain()
        finally:
            recorder.close()
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == people


def test_a_sender_asking_a_recorder_that_has_stopped_is_told_at_once(redis_purged):
    recorder = ThreadRecorder()
    recorder.close()
    told = threading.Event()

    recorder.when_free(told.set)

    assert told.is_set()
