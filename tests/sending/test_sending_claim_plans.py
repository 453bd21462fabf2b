"""The statements a batch runs for its own rows find them by id, however many rows are in
flight; the claim and the sweeper read a dispatch's rows through its index, never the whole
table; and a claim and a record are heap-only updates (PostgreSQL's real planner and
statistics, after the ANALYZE that planning leaves behind, when every row was queued)."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from subscribers.models import Channel, SubscriberStatus, Suppression, SuppressionReason
from tests.dispatching import dispatch_planned_by_command
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from worker.models import Delivery, DeliveryStatus, Dispatch, DispatchStatus
from worker.planning import _deliveries_analyze
from worker.recording import _RECORDS_SENT_SQL, SentRecord, records_sent_params
from worker.sending import _CLAIM_SQL, _claim_queryset, deliveries_claim
from worker.services import deliveries_sweep

pytestmark = pytest.mark.django_db(transaction=True)

READERS = 500


def _nodes(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _nodes(child))]


def _indexes(plan: dict) -> set[str]:
    return {node["Index Name"] for node in _nodes(plan) if "Index Name" in node}


def _plan(sql: str, params) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def _dispatch_planned(settings, smtp_server) -> Dispatch:
    """A sending dispatch of READERS queued rows (its start task waits in Redis)."""
    settings.EMAIL_URL = smtp_server.url
    return dispatch_planned_by_command(readers=READERS)


@pytest.fixture
def claimed(settings, smtp_server):
    dispatch = _dispatch_planned(settings, smtp_server)
    _deliveries_analyze()  # what planning leaves the planner: every row queued
    rows = deliveries_claim(dispatch_id=dispatch.pk, limit=READERS)
    assert len(rows) == READERS
    return rows


def _records_params(group) -> list:
    """The records' parameters for these claimed rows, as the recorder passes them."""
    return records_sent_params(
        [
            SentRecord(
                delivery=row,
                reply="250 2.0.0 Ok",
                message_id=f"<{row.id}@example.se>",
                sent_at=timezone.now(),
            )
            for row in group
        ]
    )


def _scanned_whole(plan: dict) -> set[str]:
    return {node["Relation Name"] for node in _nodes(plan) if node["Node Type"] == "Seq Scan"}


def test_recording_a_group_reads_its_rows_by_id_not_every_row_in_flight(claimed):
    plan = _plan(_RECORDS_SENT_SQL, _records_params(claimed[:5]))

    assert "worker_delivery" not in _scanned_whole(plan), plan
    assert _indexes(plan) == {"worker_delivery_pkey"}, plan


FILLER = 5000


@pytest.fixture
def claimed_among_thousands(settings, smtp_server):
    """A few claimed rows in a dispatch of thousands, statistics from when all were queued:
    the bench's relay row (5,000 recipients), where the record read the whole table."""
    settings.EMAIL_URL = smtp_server.url
    readers = segment_make(slug="lasare")
    for n in range(20):
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers])
    call_command("send_issue", sendable_issue_make().slug)  # the start task waits in Redis
    dispatch = Dispatch.objects.get()
    with connection.cursor() as cursor:
        # More queued rows of the same dispatch, for people the claim will not reach (it
        # takes the lowest ids first, the real readers' rows).
        cursor.execute(
            "INSERT INTO worker_delivery (dispatch_id, issue_id, round, subscriber_id, email, "
            "status, attempts, last_error, smtp_reply, message_id) "
            "SELECT d.dispatch_id, d.issue_id, d.round, 10000000 + g, 'fyll' || g || "
            "'@example.se', 'queued', 0, '', '', '' "
            "FROM worker_delivery d, generate_series(1, %s) g WHERE d.id = %s",
            [FILLER, Delivery.objects.filter(dispatch=dispatch).order_by("id").first().id],
        )
    _deliveries_analyze()  # as planning leaves it
    rows = deliveries_claim(dispatch_id=dispatch.pk, limit=20)
    assert len(rows) == 20
    return rows


def test_recording_a_group_looks_its_rows_up_by_id_in_a_dispatch_of_thousands(
    claimed_among_thousands,
):
    plan = _plan(_RECORDS_SENT_SQL, _records_params(claimed_among_thousands[:16]))

    assert "worker_delivery" not in _scanned_whole(plan), plan
    assert "worker_delivery_pkey" in _indexes(plan), plan


def test_renewing_or_releasing_a_claim_reads_its_rows_by_id(claimed):
    ids = [row.id for row in claimed[:10]]
    own_rows = Delivery.objects.filter(
        id__in=ids, status=DeliveryStatus.SENDING, claim_token=claimed[0].claim
    )

    plan = json.loads(own_rows.explain(format="json"))[0]["Plan"]

    assert _indexes(plan) == {"worker_delivery_pkey"}, plan


def test_renewing_a_batch_s_claims_reads_the_dispatch_s_rows_in_flight_not_the_table(
    claimed_among_thousands,
):
    rows = claimed_among_thousands
    # claims_renew's rows (the UPDATE reads them as this SELECT does).
    renewed = Delivery.objects.filter(
        dispatch_id=Dispatch.objects.get().pk,
        status=DeliveryStatus.SENDING,
        claim_token__in=[rows[0].claim],
        id__range=(rows[0].id, rows[-1].id),
    )

    plan = json.loads(renewed.explain(format="json"))[0]["Plan"]

    assert "worker_delivery" not in _scanned_whole(plan), plan


def _statements(run, *, starting: str) -> list[str]:
    """The SQL that `run` sent, with its parameters in place, that starts with `starting`."""
    with CaptureQueriesContext(connection) as captured:
        run()
    return [q["sql"] for q in captured.captured_queries if q["sql"].startswith(starting)]


def _claim_prepared() -> tuple[str, int, int]:
    """The claim's prepared statement on this connection: name, generic and custom plans."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement = %s",
            [_CLAIM_SQL.replace("%s", "$%d") % (1, 2, 3, 4)],
        )
        (prepared,) = cursor.fetchall()
    return prepared


def test_a_refill_claim_starts_where_the_last_one_ended_through_the_dispatch_s_index(
    claimed_among_thousands,
):
    """On the plan the worker runs: the claim is prepared (parsed once per connection) and
    planned for its parameters every time."""
    dispatch_id = Dispatch.objects.get().pk
    after = claimed_among_thousands[-1].id
    for _ in range(6):  # the filler rows behind have no subscriber: skipped, five a time
        assert deliveries_claim(dispatch_id=dispatch_id, limit=5, after=after) == []
    name, generic, custom = _claim_prepared()
    assert (custom, generic) == (7, 0), (custom, generic)  # the fixture's claim and these

    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN (FORMAT JSON) EXECUTE {name}(%s, %s, %s, 500)",
            [dispatch_id, after, timezone.now()],
        )
        plan = cursor.fetchone()[0]
    plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]

    assert "worker_delivery" not in _scanned_whole(plan), plan
    # The walk begins at `after` in the index (by dispatch and id, or by id), not before it.
    conditions = [node.get("Index Cond", "") for node in _nodes(plan) if node.get("Index Name")]
    assert any(
        f"id > '{after}'::bigint" in condition or f"id > {after}" in condition
        for condition in conditions
    ), plan


def test_a_new_batch_s_claim_skips_the_rows_of_older_dispatches(settings, smtp_server):
    """A new batch claims from the beginning (after=0): on the plan of its prepared claim it
    must find this dispatch's rows through delivery_dispatch, not walk the ids of every older
    dispatch's rows (they come first in id order)."""
    settings.EMAIL_URL = smtp_server.url
    issue = sendable_issue_make()
    with connection.cursor() as cursor:
        for number in range(1, 4):  # three dispatches done before, 20,000 rows each
            done = Dispatch.objects.create(
                issue=issue, round=number, status=DispatchStatus.DONE, finished_at=timezone.now()
            )
            cursor.execute(
                "INSERT INTO worker_delivery (dispatch_id, issue_id, round, subscriber_id, "
                "email, status, attempts, last_error, smtp_reply, message_id) "
                "SELECT %s, %s, %s, 20000000 + g, 'klar' || g || '@example.se', 'sent', 1, "
                "'', '', '' FROM generate_series(1, %s) g",
                [done.pk, issue.pk, number, FILLER * 4],
            )
    readers = segment_make(slug="lasare")
    for n in range(20):
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers])
    call_command("send_issue", issue.slug)  # round 0; the start task waits in Redis
    sending = Dispatch.objects.get(status=DispatchStatus.SENDING)
    _deliveries_analyze()
    for _ in range(6):
        assert len(deliveries_claim(dispatch_id=sending.pk, limit=3)) == 3
    name, generic, custom = _claim_prepared()
    # Planned for its parameters every time: the generic plan walks the primary key from
    # `after` (through the older dispatches' rows, here 60,000), and only looks dearer than
    # these plans because it cannot know the LIMIT. Were it ever taken, this fails.
    assert (custom, generic) == (6, 0), (custom, generic)

    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN (FORMAT JSON) EXECUTE {name}(%s, 0, %s, 500)",
            [sending.pk, timezone.now()],
        )
        plan = cursor.fetchone()[0]
    plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]

    assert "worker_delivery" not in _scanned_whole(plan), plan
    assert "delivery_dispatch" in _indexes(plan), plan


def test_the_claim_s_fixed_sql_reads_exactly_what_the_orm_s_query_reads(settings, smtp_server):
    """_CLAIM_SQL (PostgreSQL) and _claim_queryset (the embedded SQLite default) are one
    query written twice: held to the same rows, values and order, every kind of row there."""
    dispatch = _dispatch_planned(settings, smtp_server)
    rows = list(Delivery.objects.filter(dispatch=dispatch).order_by("id"))
    subscribers = [row.subscriber for row in rows]
    subscribers[3].status = SubscriberStatus.UNSUBSCRIBED
    subscribers[4].status = SubscriberStatus.ERASED
    subscribers[5].channel = Channel.PRINT
    for subscriber in subscribers[3:6]:
        subscriber.save()
    Suppression.objects.create(email=subscribers[6].email, reason=SuppressionReason.MANUAL)
    subscribers[7].delete()  # the delivery stays, its subscriber NULL
    Delivery.objects.filter(pk=rows[8].pk).update(
        next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    Delivery.objects.filter(pk=rows[9].pk).update(status=DeliveryStatus.SENT)
    Delivery.objects.filter(pk=rows[10].pk).update(next_attempt_at=timezone.now())
    now = timezone.now()

    def both(after: int, limit: int):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [dispatch.pk, after, now, limit])
            fixed = cursor.fetchall()
            orm = list(_claim_queryset(dispatch_id=dispatch.pk, after=after, now=now)[:limit])
        return fixed, orm

    fixed, orm = both(0, 40)
    assert [tuple(row) for row in fixed] == [tuple(row) for row in orm]
    ids = [row[0] for row in fixed]
    assert len(ids) == 40 and rows[8].pk not in ids and rows[9].pk not in ids
    assert rows[10].pk in ids  # due now
    by_id = {row[0]: row for row in fixed}
    assert by_id[rows[3].pk][6] == SubscriberStatus.UNSUBSCRIBED
    assert by_id[rows[5].pk][7] == Channel.PRINT
    assert by_id[rows[6].pk][9] is True  # suppressed
    assert by_id[rows[7].pk][2:9] == (None,) * 7  # no subscriber
    fixed, orm = both(rows[20].pk, 7)  # a refill's: from `after`, LIMIT applied
    assert [tuple(row) for row in fixed] == [tuple(row) for row in orm]
    assert [row[0] for row in fixed] == [row.pk for row in rows[21:28]]


def test_the_sweeper_does_not_read_the_rows_of_finished_dispatches(claimed_among_thousands):
    sending = Dispatch.objects.get()
    done = Dispatch.objects.create(
        issue=sending.issue, round=1, status=DispatchStatus.DONE, finished_at=timezone.now()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO worker_delivery (dispatch_id, issue_id, round, subscriber_id, email, "
            "status, attempts, last_error, smtp_reply, message_id) "
            "SELECT %s, %s, 1, 20000000 + g, 'klar' || g || '@example.se', 'sent', 1, '', '', '' "
            "FROM generate_series(1, %s) g",
            [done.pk, sending.issue_id, FILLER * 4],
        )
        cursor.execute("ANALYZE worker_dispatch")
    _deliveries_analyze()  # as planning leaves it

    updates = _statements(deliveries_sweep, starting="UPDATE")
    plans = [_plan(update, None) for update in updates if "worker_delivery" in update]

    assert len(plans) == 3, updates  # failed after the last attempt, requeued, cancelled
    for plan in plans:
        assert "worker_delivery" not in _scanned_whole(plan), plan
        assert "delivery_dispatch" in _indexes(plan), plan


def _updates_of_deliveries() -> tuple[int, int]:
    """(updates, heap-only updates) of worker_delivery so far, by the server's statistics."""
    with connection.cursor() as cursor:
        # This backend's own counts reach the shared statistics once it is idle after this.
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
            "WHERE relname = 'worker_delivery'"
        )
        return cursor.fetchone()


def test_a_claim_and_a_record_are_heap_only_updates(settings, smtp_server):
    """Both updates of a message stay on the row's page with no new index entry: no index
    holds what they change, and the fillfactor leaves the room (migration 0011)."""
    dispatch = _dispatch_planned(settings, smtp_server)
    before = _updates_of_deliveries()

    rows = deliveries_claim(dispatch_id=dispatch.pk, limit=READERS)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 25):  # groups of the size the recorder writes
            cursor.execute(_RECORDS_SENT_SQL, _records_params(rows[start : start + 25]))
    after = _updates_of_deliveries()

    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == READERS
    updates, heap_only = after[0] - before[0], after[1] - before[1]
    assert updates == 2 * READERS
    # Measured: 993 of 1,000 (a page that the claim of 500 rows fills up in one transaction
    # sends its last rows' new versions elsewhere); 895 at a fillfactor of 50; none with an
    # index on the status, as before migration 0011.
    assert heap_only >= 0.98 * updates, (heap_only, updates)


def _statistics(column: str):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT null_frac, n_distinct, most_common_vals::text, histogram_bounds::text "
            "FROM pg_stats WHERE tablename = 'worker_delivery' AND attname = %s "
            "AND schemaname = current_schema()",
            [column],
        )
        return cursor.fetchone()


def test_planning_analyses_what_the_plans_read_and_leaves_the_text_columns_alone(
    claimed_among_thousands,
):
    sent = 3000
    with connection.cursor() as cursor:
        # Rows that a whole-table ANALYZE would find new in every column, replies included.
        cursor.execute(
            "INSERT INTO worker_delivery (dispatch_id, issue_id, round, subscriber_id, email, "
            "status, attempts, last_error, smtp_reply, message_id) "
            "SELECT d.dispatch_id, d.issue_id, d.round, 30000000 + g, 'ny' || g || "
            "'@example.se', 'sent', 1, '', '250 2.0.0 Ok ' || g, '<' || g || '@example.se>' "
            "FROM worker_delivery d, generate_series(1, %s) g WHERE d.id = %s",
            [sent, claimed_among_thousands[0].id],
        )
    text_columns = ("email", "smtp_reply", "message_id", "last_error")
    before = {column: _statistics(column) for column in text_columns}

    _deliveries_analyze()

    assert {column: _statistics(column) for column in text_columns} == before
    assert "sent" in _statistics("status")[2]  # most common values, new since the fixture
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'worker_delivery'")
        assert cursor.fetchone()[0] == FILLER + 20 + sent


def test_the_first_planning_of_an_issue_skips_no_one_and_a_second_skips_the_planned(
    settings, smtp_server
):
    settings.EMAIL_URL = smtp_server.url
    libraries, politics = segment_make(slug="bibliotek"), segment_make(slug="politik")
    for n in range(4):
        subscriber_make(email=f"bib{n}@example.se", segments=[libraries])
        subscriber_make(email=f"bada{n}@example.se", segments=[libraries, politics])
    issue = sendable_issue_make()

    first = _statements(
        lambda: call_command("send_issue", issue.slug, "--segment", "bibliotek"),
        starting="INSERT INTO",
    )
    second = _statements(
        lambda: call_command("send_issue", issue.slug, "--segment", "politik"),
        starting="INSERT INTO",
    )

    (planned_first,) = [sql for sql in first if '"worker_delivery"' in sql]
    (planned_second,) = [sql for sql in second if '"worker_delivery"' in sql]
    # Nobody to skip the first time: no constraint check before every row.
    assert "ON CONFLICT" not in planned_first
    assert "ON CONFLICT DO NOTHING" in planned_second
    assert list(Dispatch.objects.order_by("id").values_list("planned_count", flat=True)) == [8, 0]
    assert Delivery.objects.count() == 8
