"""The database fails under a dispatch: a worker's connections terminated mid-batch, and
PostgreSQL itself crashed and restarted. Everyone eligible gets the issue exactly once.

A batch holds four connections (the task's, the recorder's, the heartbeat's and that of the
thread that checks the dispatch status and claims more rows for the SMTP connections);
each statement it repeats is limited to its own rows (the claim token) and safe to run twice,
so a lost connection is replaced and the statement run again (worker/connections.py). The
recorder also writes every record of its batch again on a new connection, because delivery
records commit without waiting for the WAL flush (`synchronous_commit = off`, see
worker/recording.py): a PostgreSQL that crashes may lose the last of them, and a record
lost that way would otherwise send its message a second time once the lease lapsed. The
test counts the records the crash lost and the workers wrote again.

Bounds: 0 repeats for terminated connections; 0 for a database crash shorter than two
thirds of the lease (the rows stay the batch's while it is away), and QUEUE_LENGTH + 1 per
batch at work for a longer one (as for a killed worker: the accepted but unwritten records).
Workers run at the default lease and sweep, batches of 200 so that a batch lives longer than
the heartbeat's 10 s and its connection is among those terminated. A batch sends over one
SMTP connection per ROWS_PER_CONNECTION_AT_LEAST rows at once, so the server's delay is per
connection what it was for the one connection a batch used to have.
"""

import math
import time

import psycopg
import pytest

from tests.commands import testdb_url
from tests.sending.faults import (
    assert_everyone_once,
    dispatch_start_by_command,
    issue_and_readers_make,
    outcome_count,
    records_rewritten,
    wait_for_accepted,
    wait_for_done,
)
from tests.workers import WorkerProcesses, wait_until
from worker.sending import ROWS_PER_CONNECTION_AT_LEAST

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BATCH_SIZE = "200"
CONNECTIONS = math.ceil(int(BATCH_SIZE) / ROWS_PER_CONNECTION_AT_LEAST)  # per batch: 13
SMTP_DELAY = 0.05 * CONNECTIONS  # about 20 messages a second per pool process: ~10 s a batch
RECIPIENTS = 600
TERMINATE_DUPLICATES_AT_MOST = 0
CRASH_DUPLICATES_AT_MOST = 0  # the crash is over in well under 20 s (2/3 of the lease)

# What each of a batch's connections last ran, to name the backends terminated.
_BACKEND_KIND = """
    CASE
      WHEN query LIKE 'UPDATE worker_delivery AS d SET status = ''sent''%%' THEN 'recorder'
      WHEN query LIKE 'UPDATE "worker_delivery" SET "claimed_until"%%' THEN 'heartbeat'
      ELSE 'other'
    END
"""


def _worker_backends(connection, database: str, exclude: list[int]) -> dict[int, str]:
    rows = connection.execute(
        f"SELECT pid, {_BACKEND_KIND} FROM pg_stat_activity "
        "WHERE datname = %s AND backend_type = 'client backend' AND NOT pid = ANY(%s)",
        [database, exclude],
    ).fetchall()
    return dict(rows)


def test_it_delivers_everyone_once_when_a_worker_s_connections_are_terminated_mid_batch(
    celery_workers, smtp_server, artefacts_dir
):
    from django.db import connection as django_connection

    smtp_server.delay = SMTP_DELAY
    slug, people = issue_and_readers_make(RECIPIENTS)
    celery_workers.start(default_timings=True, SEND_BATCH_SIZE=BATCH_SIZE)
    started = time.monotonic()
    dispatch_start_by_command(slug=slug, redis_url=celery_workers.redis_url)
    database = django_connection.settings_dict["NAME"]
    with django_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        own = [cursor.fetchone()[0]]

    terminated: dict[str, int] = {}
    with psycopg.connect(testdb_url(), autocommit=True) as admin:
        own.append(admin.info.backend_pid)
        # Mid-batch, once the heartbeats have renewed (10 s), so that all three connections
        # of a batch are there to be terminated.
        wait_until(
            lambda: "heartbeat" in _worker_backends(admin, database, own).values(),
            timeout=60,
            interval=0.1,
            message="no heartbeat renewed a lease",
        )
        accepted_at_fault = len(smtp_server.received)
        for _ in range(3):  # three rounds, a second apart, to catch each phase of a batch
            backends = _worker_backends(admin, database, own)
            for pid, kind in backends.items():
                if admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]:
                    terminated[kind] = terminated.get(kind, 0) + 1
            time.sleep(1)
    fault_ended = time.monotonic()

    finished = wait_for_done(testdb_url())
    outcome = outcome_count(smtp_server, testdb_url(), artefacts_dir)
    print(
        f"\n[pg_terminate_backend] terminated {sum(terminated.values())} backends of the "
        f"worker ({terminated}) in 3 rounds from {accepted_at_fault} accepted; done "
        f"{finished:.1f} s after the last round ({fault_ended - started + finished:.1f} s in "
        f"all); {outcome.line()} (bound {TERMINATE_DUPLICATES_AT_MOST})"
    )
    assert accepted_at_fault < len(people), "the fault came after the dispatch"
    assert terminated.get("recorder") and terminated.get("heartbeat"), terminated
    assert_everyone_once(outcome, people, smtp_server, bound=TERMINATE_DUPLICATES_AT_MOST)


def test_it_delivers_everyone_once_when_postgresql_crashes_and_restarts_mid_dispatch(
    postgres_cluster, smtp_server, redis_purged, artefacts_dir, tmp_path
):
    from django.conf import settings

    cluster = postgres_cluster
    # Fast (100 a second per pool process): the more records in the last WAL flush, the harder.
    smtp_server.delay = 0.01 * CONNECTIONS
    slug, people = issue_and_readers_make(RECIPIENTS)
    # The app's migrated database, with the readers, in the test's own cluster.
    cluster.copy_database(testdb_url())
    database_url = cluster.url()
    with psycopg.connect(database_url) as check:
        assert check.execute("SELECT count(*) FROM subscribers_subscriber").fetchone()[0] == (
            len(people)
        )
    workers = WorkerProcesses(
        smtp_url=smtp_server.url,
        redis_url=settings.REDIS_URL,
        log_dir=artefacts_dir,
        state_dir=tmp_path,
        database_url=database_url,
    )
    workers.start(default_timings=True, SEND_BATCH_SIZE=BATCH_SIZE)
    try:
        started = time.monotonic()
        dispatch_start_by_command(
            slug=slug, database_url=database_url, redis_url=settings.REDIS_URL
        )
        wait_for_accepted(smtp_server, 150)
        accepted_at_fault = len(smtp_server.received)
        away = cluster.crash_restart()  # pg_ctl restart -m immediate
        with psycopg.connect(database_url) as check:
            recorded_after_crash = check.execute(
                "SELECT count(*) FROM worker_delivery WHERE status = 'sent'"
            ).fetchone()[0]
        finished = wait_for_done(database_url)
        outcome = outcome_count(smtp_server, database_url, artefacts_dir)
        again, lost = records_rewritten(artefacts_dir)
        print(
            f"\n[postgresql crash] pg_ctl restart -m immediate with {accepted_at_fault} "
            f"accepted; the server was away {away:.1f} s and came back with "
            f"{recorded_after_crash} rows recorded sent; the workers wrote {again} records "
            f"again, {lost} of which the crash had lost (synchronous_commit = off); done "
            f"{finished:.1f} s after the restart ({time.monotonic() - started:.1f} s in all); "
            f"{outcome.line()} (bound {CRASH_DUPLICATES_AT_MOST})"
        )
        assert accepted_at_fault < len(people), "the fault came after the dispatch"
        assert_everyone_once(outcome, people, smtp_server, bound=CRASH_DUPLICATES_AT_MOST)
    finally:
        workers.stop_all()
