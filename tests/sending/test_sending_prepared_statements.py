"""The pipeline's hottest statements are prepared on PostgreSQL: planned a few times per
connection, then run on one generic plan that finds the rows by primary key
(worker/connections.py prepared_cursor). Real PostgreSQL, its own pg_prepared_statements."""

import json

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from tests.commands import testdb_url
from tests.dispatching import dispatch_planned_by_command
from worker.connections import reconnecting
from worker.conversations import dispatch_status_read
from worker.models import Delivery, DeliveryStatus, Dispatch
from worker.planning import _deliveries_analyze
from worker.recording import GROUP_TARGET, SentRecord, records_sent_params, records_sent_write
from worker.sending import deliveries_claim

pytestmark = pytest.mark.django_db(transaction=True)

READERS = 200
FILLER = 5000


@pytest.fixture
def dispatch(settings, smtp_server) -> Dispatch:
    """A sending dispatch of READERS queued rows (its start task waits in Redis)."""
    settings.EMAIL_URL = smtp_server.url
    planned = dispatch_planned_by_command(readers=READERS)
    with connection.cursor() as cursor:
        # A dispatch of thousands, as the plans are for (on a table of a few hundred rows
        # a generic plan may rightly read them all): queued rows behind the readers', for
        # people no claim here reaches (it takes the lowest ids first).
        cursor.execute(
            "INSERT INTO worker_delivery (dispatch_id, issue_id, round, subscriber_id, email, "
            "status, attempts, last_error, smtp_reply, message_id) "
            "SELECT dispatch_id, issue_id, round, 10000000 + g, 'fyll' || g || '@example.se', "
            "'queued', 0, '', '', '' FROM worker_delivery, generate_series(1, %s) g "
            "WHERE id = (SELECT min(id) FROM worker_delivery)",
            [FILLER],
        )
    _deliveries_analyze()  # what planning leaves the planner: every row queued
    return planned


def _records(rows) -> list[SentRecord]:
    return [
        SentRecord(
            delivery=row,
            reply="250 2.0.0 Ok: queued",
            message_id=f"<{row.id}@example.se>",
            sent_at=timezone.now(),
        )
        for row in rows
    ]


def _prepared(beginning: str) -> list[tuple[str, int, int]]:
    """This connection's prepared statements that begin so: name, generic and custom plans."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE %s",
            [beginning + "%"],
        )
        return cursor.fetchall()


def _nodes(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _nodes(child))]


def _write_groups(rows, groups: int) -> int:
    written = 0
    for number in range(groups):
        group = rows[number * GROUP_TARGET : (number + 1) * GROUP_TARGET]
        written += records_sent_write(_records(group))
    return written


def test_the_records_are_planned_a_few_times_then_run_on_one_plan_by_primary_key(dispatch):
    rows = deliveries_claim(dispatch_id=dispatch.pk, limit=READERS)
    groups = 10

    assert _write_groups(rows, groups) == groups * GROUP_TARGET

    ((name, generic, custom),) = _prepared("UPDATE worker_delivery AS d")
    # PostgreSQL plans a prepared statement for its parameters five times, then keeps the
    # generic plan if it is no dearer: no planning at all from then on.
    assert (custom, generic) == (5, groups - 5)
    group = rows[groups * GROUP_TARGET : (groups + 1) * GROUP_TARGET]
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN (FORMAT JSON) EXECUTE {name}(%s, %s)", records_sent_params(_records(group))
        )
        plan = cursor.fetchone()[0]
    plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    scans = {(node["Node Type"], node.get("Index Name")) for node in _nodes(plan)}
    assert ("Index Scan", "worker_delivery_pkey") in scans, plan
    assert not any(kind == "Seq Scan" for kind, _index in scans), plan
    sent = Delivery.objects.filter(status=DeliveryStatus.SENT)
    assert sent.count() == groups * GROUP_TARGET
    assert set(sent.values_list("smtp_reply", flat=True)) == {"250 2.0.0 Ok: queued"}


def test_the_claim_and_the_status_check_are_prepared_too(dispatch):
    for _ in range(6):
        assert dispatch_status_read(dispatch.pk) == "sending"
    claims = [deliveries_claim(dispatch_id=dispatch.pk, limit=10) for _ in range(6)]

    assert all(len(claim) == 10 for claim in claims)
    assert len({row.id for claim in claims for row in claim}) == 60  # disjoint
    ((_name, generic, custom),) = _prepared("SELECT status FROM worker_dispatch")
    assert custom + generic == 6 and generic >= 1
    ((_name, _generic, custom),) = _prepared("UPDATE worker_delivery SET status = 'sending'")
    assert custom >= 1
    assert Delivery.objects.filter(status=DeliveryStatus.SENDING).count() == 60


def test_with_prepared_statements_off_nothing_is_prepared_and_all_is_written(settings, dispatch):
    settings.DATABASE_PREPARED_STATEMENTS = False
    rows = deliveries_claim(dispatch_id=dispatch.pk, limit=READERS)
    dispatch_status_read(dispatch.pk)

    assert _write_groups(rows, 7) == 7 * GROUP_TARGET
    assert _prepared("") == []
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 7 * GROUP_TARGET


def test_a_new_connection_prepares_again_after_the_old_one_was_terminated(dispatch):
    rows = deliveries_claim(dispatch_id=dispatch.pk, limit=READERS)
    assert _write_groups(rows, 2) == 2 * GROUP_TARGET
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        old = cursor.fetchone()[0]
    with psycopg.connect(testdb_url(), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [old]).fetchone()[0]

    later = rows[2 * GROUP_TARGET : 3 * GROUP_TARGET]
    assert reconnecting(lambda: records_sent_write(_records(later))) == GROUP_TARGET

    # psycopg forgets what it prepared with the connection; a stale name would fail here.
    assert reconnecting(lambda: records_sent_write(_records(rows[3 * GROUP_TARGET :]))) > 0
    ((_name, _generic, custom),) = _prepared("UPDATE worker_delivery AS d")
    assert custom == 2  # planned anew on the new connection
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == READERS
