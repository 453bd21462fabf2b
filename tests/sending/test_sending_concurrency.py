"""Concurrent senders, at the default settings: two dispatches of different issues at once,
and four workers on one dispatch as on four machines (separate processes with their own
hostnames, one beat among them). The sink counts every accepted message per (recipient,
Message-ID): no row may be sent twice, and everyone gets each issue once.
"""

import collections
import time

import pytest

from tests.workers import wait_until
from worker.celery import app
from worker.models import Delivery

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


def test_it_sends_two_issues_at_once_each_to_everyone_once(celery_workers, smtp_server):
    people = readers_make(120)
    smtp_server.reply_delay = lambda: 0.01  # a relay a few milliseconds away
    # Room for more batches than one dispatch may have at work (SEND_PARALLEL_BATCHES, 8):
    # the second dispatch's batches need processes while the first's are busy.
    workers_start(celery_workers, count=2, concurrency=6)
    # Every conversation waits at its first RCPT until the second dispatch has started too: a
    # pipelined batch sends fast, and starting a dispatch (it renders its frozen version
    # first) takes long enough for the first to be done before the second begins.
    smtp_server.hold_after = 0
    started = time.monotonic()
    first = dispatch_send(issue_slug="2018-1")
    second = dispatch_send(issue_slug="2018-2")
    smtp_server.release()
    first, second = dispatch_wait(first, timeout=120), dispatch_wait(second, timeout=120)

    counts = counts_take(smtp_server, [first, second], started=started)
    # How much the two dispatches overlapped in time: both were being sent together.
    spans = {
        dispatch.issue.slug: Delivery.objects.filter(dispatch=dispatch).values_list(
            "sent_at", flat=True
        )
        for dispatch in (first, second)
    }
    overlap = min(max(s) for s in spans.values()) - max(min(s) for s in spans.values())
    counts_print(
        "two dispatches at once",
        smtp_server,
        counts,
        overlap=f"{overlap.total_seconds():.1f} s",
    )
    assert overlap.total_seconds() > 0, "the dispatches did not run at the same time"
    for dispatch in (first, second):
        assert set(delivered_once(smtp_server, dispatch, people).values()) == {1}
    assert counts.repeated == 0 and counts.failed == 0
    assert counts.accepted == 2 * len(people)
    per_person = collections.Counter(address for address, _ in smtp_server.copies())
    assert set(per_person.values()) == {2}  # one message of each issue


def test_it_sends_no_row_twice_with_four_workers_on_one_dispatch(celery_workers, smtp_server):
    people = readers_make(400)
    smtp_server.reply_delay = lambda: 0.01
    names = workers_start(celery_workers, count=4)
    assert len(set(names)) == 4
    before = _batches_per_worker()
    started = time.monotonic()
    dispatch = dispatch_wait(dispatch_send(), timeout=180)

    counts = counts_take(smtp_server, [dispatch], started=started)
    batches = {
        name: count - before.get(name, 0)
        for name, count in wait_until(_batches_per_worker, timeout=10).items()
    }
    counts_print("4 workers, one dispatch", smtp_server, counts, batches_per_worker=batches)
    assert set(delivered_once(smtp_server, dispatch, people).values()) == {1}
    assert counts.accepted == len(people)
    assert counts.repeated == 0 and counts.retries == 0 and counts.failed == 0
    # Every worker took part: the rows were really shared out between them.
    assert sorted(batches) == names
    assert all(count > 0 for count in batches.values()), batches


def _batches_per_worker() -> dict[str, int]:
    stats = app.control.inspect(timeout=2.0).stats() or {}
    return {
        name: reply.get("total", {}).get("worker.tasks.delivery_batch_send_task", 0)
        for name, reply in stats.items()
    }
