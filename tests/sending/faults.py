"""What the infrastructure fault tests share: a dispatch big enough to be in the middle of
when the fault hits, started the way an operator starts it, and the count at the end.

Every fault test runs real worker processes at the lease and sweep a user gets
(DELIVERY_CLAIM_SECONDS, SWEEP_INTERVAL_SECONDS untouched), a real loopback SMTP server
(tests/smtp.py) that answers each RCPT after a short pause, so that a dispatch takes some
seconds, and prints what it injected and what it counted.
"""

from __future__ import annotations

import collections
import re
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.commands import manage_run, testdb_env
from tests.factories import segment_make, sendable_issue_make
from tests.workers import wait_until

RECIPIENTS = 600
BATCH_SIZE = "50"  # 12 batches: several at work and several queued when the fault hits
# Per RCPT: two pool processes then send about 100 messages a second, so the dispatch takes
# about 6 s without a fault and the fault falls well inside it.
SMTP_DELAY = 0.02
FAULT_AFTER = 120  # messages accepted before the fault is injected
DONE_WITHIN = 150  # seconds after the fault ends; the recovery paths need at most lease + sweeps


def issue_and_readers_make(count: int = RECIPIENTS) -> tuple[str, list[str]]:
    """An issue ready to send and `count` active email readers in one segment."""
    return sendable_issue_make().slug, readers_make(count)


def readers_make(count: int = RECIPIENTS) -> list[str]:
    """`count` active email readers in one segment, in two statements."""
    from subscribers.models import Channel, Subscriber, SubscriberStatus
    from subscribers.validation import email_hash

    readers = segment_make(slug="lasare")
    addresses = [f"lasare{n}@example.se" for n in range(count)]
    people = Subscriber.objects.bulk_create(
        # bulk_create skips save(), which sets the hash the suppression check joins on.
        Subscriber(
            email=address,
            name=f"Läsare {n}",
            email_hash=email_hash(address),
            status=SubscriberStatus.ACTIVE,
            channel=Channel.EMAIL,
        )
        for n, address in enumerate(addresses)
    )
    Subscriber.segments.through.objects.bulk_create(
        [Subscriber.segments.through(subscriber_id=p.pk, segment_id=readers.pk) for p in people],
        ignore_conflicts=True,
    )
    return addresses


def dispatch_start_by_command(
    *, slug: str, redis_url: str, database_url: str | None = None
) -> None:
    """`manage.py send_issue` as an operator runs it, against the given Redis (and database)."""
    env = {**testdb_env(), "REDIS_URL": redis_url}
    env.pop("TEST_DATABASE_NAME", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    done = manage_run("send_issue", slug, env=env)
    assert done.returncode == 0, done.stderr


def _scalar(database_url: str, sql: str):
    with psycopg.connect(database_url, connect_timeout=3) as connection:
        return connection.execute(sql).fetchone()[0]


def dispatch_status(database_url: str) -> str | None:
    try:
        return _scalar(database_url, "SELECT status FROM worker_dispatch ORDER BY id DESC LIMIT 1")
    except psycopg.OperationalError:
        return None  # the database is the fault


def wait_for_done(database_url: str, *, timeout: float = DONE_WITHIN) -> float:
    started = time.monotonic()
    wait_until(
        lambda: dispatch_status(database_url) == "done",
        timeout=timeout,
        interval=0.25,
        message="the dispatch did not finish",
    )
    return time.monotonic() - started


def wait_for_accepted(smtp_server, count: int = FAULT_AFTER) -> None:
    wait_until(
        lambda: len(smtp_server.received) >= count, timeout=60, message="sending never started"
    )


@dataclass
class Outcome:
    accepted: int  # messages the server accepted in all
    recipients: int  # distinct recipients among them
    repeated: list[str]  # recipients who got the issue more than once
    sent_rows: int  # deliveries recorded sent
    extra_attempts: int  # claims beyond the first per row: retries and rows taken back
    rewritten: int  # records the workers had to write again after losing their connection

    def line(self) -> str:
        return (
            f"counted {self.accepted} messages to {self.recipients} recipients, "
            f"{len(self.repeated)} repeated at the server, {self.sent_rows} recorded sent, "
            f"{self.extra_attempts} extra attempts, {self.rewritten} records written again"
        )


_REWRITTEN = re.compile(r"wrote (\d+) records of claim \S+ again, (\d+) of them lost")


def records_rewritten(log_dir: Path) -> tuple[int, int]:
    """(written again, of them lost) from the workers' logs (worker/recording.py warns)."""
    again = lost = 0
    for log in log_dir.glob("celery-worker-*.log"):
        for match in _REWRITTEN.finditer(log.read_text(errors="replace")):
            again += int(match[1])
            lost += int(match[2])
    return again, lost


def outcome_count(smtp_server, database_url: str, log_dir: Path) -> Outcome:
    counts = collections.Counter(smtp_server.recipients())
    with psycopg.connect(database_url) as connection:
        sent_rows, extra = connection.execute(
            "SELECT count(*) FILTER (WHERE status = 'sent'), "
            "coalesce(sum(greatest(attempts - 1, 0)), 0) FROM worker_delivery"
        ).fetchone()
    return Outcome(
        accepted=sum(counts.values()),
        recipients=len(counts),
        repeated=sorted(address for address, count in counts.items() if count > 1),
        sent_rows=sent_rows,
        extra_attempts=extra,
        rewritten=records_rewritten(log_dir)[0],
    )


def assert_everyone_once(outcome: Outcome, people: list[str], smtp_server, *, bound: int):
    """Everyone eligible got the issue, once, except at most `bound` repeats, each one a
    second copy with the first one's Message-ID (so receiving systems can drop it)."""
    assert outcome.recipients == len(people)
    assert set(smtp_server.recipients()) == set(people)
    assert outcome.sent_rows == len(people)
    assert len(outcome.repeated) <= bound, outcome.repeated
    for address in outcome.repeated:
        copies = smtp_server.parsed(address)
        assert len(copies) == 2
        assert copies[0]["Message-ID"] == copies[1]["Message-ID"]
