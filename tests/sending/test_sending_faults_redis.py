"""Redis restarted and Redis out of reach for 30 s in the middle of a dispatch: the workers
and beat reconnect by themselves, and everyone eligible gets the issue exactly once.

Redis here is a `redis-server` of the test's own on a spare port (tests/servers.py), with the
README's production topology around it: a worker (`celery -A worker worker`) and one
`celery -A worker beat`, both at the default lease and sweep. Redis holds only tasks, never
who was sent what: that is in the database, so no Redis fault can make a message go twice
(the bound is 0), and a Redis that comes back empty has lost only the queued batch tasks,
which the sweeper gives back (a sending dispatch with due rows and no batch at work is fanned
out again, worker/services.py `deliveries_sweep`).
"""

import time

import pytest

from tests.commands import testdb_url
from tests.sending.faults import (
    BATCH_SIZE,
    SMTP_DELAY,
    assert_everyone_once,
    dispatch_start_by_command,
    issue_and_readers_make,
    outcome_count,
    wait_for_accepted,
    wait_for_done,
)
from tests.servers import RedisServer
from tests.workers import WorkerProcesses
from worker.models import Delivery, DeliveryStatus

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DUPLICATES_AT_MOST = 0  # Redis keeps no delivery state
OUTAGE_SECONDS = 30  # issue 14: "Redis unreachable for 30 s"


def _topology(tmp_path, artefacts_dir, smtp_server, redis: RedisServer) -> WorkerProcesses:
    workers = WorkerProcesses(
        smtp_url=smtp_server.url,
        redis_url=redis.url,
        log_dir=artefacts_dir,
        state_dir=tmp_path,
    )
    workers.start(default_timings=True, embedded_beat=False, SEND_BATCH_SIZE=BATCH_SIZE)
    workers.start_beat(default_timings=True)
    return workers


def _run_through(fault, *, label, redis, tmp_path, artefacts_dir, smtp_server) -> None:
    smtp_server.delay = SMTP_DELAY
    slug, people = issue_and_readers_make()
    workers = _topology(tmp_path, artefacts_dir, smtp_server, redis)
    try:
        started = time.monotonic()
        dispatch_start_by_command(slug=slug, redis_url=redis.url)
        wait_for_accepted(smtp_server)
        accepted_at_fault = len(smtp_server.received)
        unsent_at_fault = Delivery.objects.exclude(status=DeliveryStatus.SENT).count()
        tasks_at_fault = redis.queued_tasks()
        fault_started = time.monotonic()
        fault()
        fault_seconds = time.monotonic() - fault_started
        tasks_after = redis.queued_tasks()
        finished = wait_for_done(testdb_url())
        outcome = outcome_count(smtp_server, testdb_url(), artefacts_dir)
        print(
            f"\n[{label}] injected with {accepted_at_fault} accepted, {unsent_at_fault} rows "
            f"not yet sent and {tasks_at_fault} batch tasks queued in Redis; Redis was away "
            f"{fault_seconds:.1f} s and came back with {tasks_after} queued; the dispatch was "
            f"done {finished:.1f} s after Redis was back ({time.monotonic() - started:.1f} s "
            f"in all); {outcome.line()} (bound {DUPLICATES_AT_MOST})"
        )
        assert unsent_at_fault > 0, "the fault came after the dispatch"
        assert_everyone_once(outcome, people, smtp_server, bound=DUPLICATES_AT_MOST)
        assert all(process.poll() is None for process in workers.processes), "a process died"
    finally:
        workers.stop_all()


@pytest.mark.parametrize("persistent", [False, True], ids=["no-persistence", "append-only-file"])
def test_it_delivers_everyone_once_across_a_redis_restart_mid_dispatch(
    persistent, tmp_path, artefacts_dir, smtp_server
):
    redis = RedisServer(tmp_path, persistent=persistent)
    redis.start()
    try:
        _run_through(
            redis.restart,
            label=f"redis restart, {'append-only file' if persistent else 'no persistence'}",
            redis=redis,
            tmp_path=tmp_path,
            artefacts_dir=artefacts_dir,
            smtp_server=smtp_server,
        )
    finally:
        redis.stop()


def test_it_delivers_everyone_once_after_redis_is_unreachable_for_30_seconds(
    tmp_path, artefacts_dir, smtp_server
):
    redis = RedisServer(tmp_path, persistent=False)
    redis.start()

    def outage() -> None:
        redis.stop()
        time.sleep(OUTAGE_SECONDS)
        redis.start()

    try:
        _run_through(
            outage,
            label=f"redis unreachable {OUTAGE_SECONDS} s",
            redis=redis,
            tmp_path=tmp_path,
            artefacts_dir=artefacts_dir,
            smtp_server=smtp_server,
        )
    finally:
        redis.stop()
