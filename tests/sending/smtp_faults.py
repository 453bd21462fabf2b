"""What the SMTP fault and concurrency tests share: workers at the default settings, a dispatch
to a few dozen readers, and the count each test prints and checks at the end.

The workers run with the settings a user gets (lease, sweep, retry backoff, transport retry,
parallel batches, status checks); only the batch size stays at the 10 of tests/workers.py, so
that a few dozen recipients span several batches and several connections. A test about a
setting (the send rate) names it.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass

from django.core.management import call_command

from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.workers import wait_until
from worker.models import Delivery, DeliveryStatus, Dispatch

# lansnytt/settings.py's defaults for what tests/workers.py shortens for the quick tests.
DEFAULT_SETTINGS = {
    "DELIVERY_RETRY_BASE_SECONDS": "60",
    "SEND_PARALLEL_BATCHES": "8",
    "SEND_STATUS_CHECK_EVERY": "50",
}


def workers_start(
    celery_workers, count: int = 1, *, concurrency: int = 2, **settings: str
) -> list[str]:
    """`count` workers at the default settings, ready; only the first runs beat (one per
    site). Returns their names (distinct hostnames, as on several machines)."""
    for number in range(count):
        celery_workers.start(
            default_timings=True,
            beat=number == 0,
            concurrency=concurrency,
            **{**DEFAULT_SETTINGS, **settings},
        )
    return workers_ready(count)


def readers_make(count: int, *, slug: str = "lasare", domain: str = "example.se") -> list[str]:
    readers = segment_make(slug=slug)
    return [
        subscriber_make(email=f"lasare{n}@{domain}", segments=[readers]).email for n in range(count)
    ]


def dispatch_send(*, issue_slug: str = "2018-1", segment: str | None = None) -> Dispatch:
    issue = sendable_issue_make(slug=issue_slug, title=f"Länsnytt {issue_slug.replace('-', ':')}")
    call_command("send_issue", issue.slug, *(["--segment", segment] if segment else []))
    return Dispatch.objects.get(issue=issue)


def dispatch_wait(dispatch: Dispatch, *, timeout: float) -> Dispatch:
    def finished():
        current = Dispatch.objects.get(pk=dispatch.pk)
        return current if current.is_final else None

    return wait_until(finished, timeout=timeout, interval=0.5, message=f"{dispatch} not finished")


@dataclass
class Counts:
    sent: int  # rows recorded sent
    failed: int
    accepted: int  # messages the sink accepted
    repeated: int  # accepted copies beyond the first per (recipient, Message-ID)
    retries: int  # attempts beyond the first, over every row
    seconds: float


def counts_take(smtp_server, dispatches: list[Dispatch], *, started: float) -> Counts:
    rows = Delivery.objects.filter(dispatch__in=dispatches)
    copies = smtp_server.copies()
    return Counts(
        sent=rows.filter(status=DeliveryStatus.SENT).count(),
        failed=rows.filter(status=DeliveryStatus.FAILED).count(),
        accepted=sum(copies.values()),
        repeated=sum(count - 1 for count in copies.values()),
        retries=sum(max(attempts - 1, 0) for attempts in rows.values_list("attempts", flat=True)),
        seconds=time.monotonic() - started,
    )


def counts_print(name: str, smtp_server, counts: Counts, **more) -> None:
    extra = "".join(f", {key.replace('_', ' ')} {value}" for key, value in more.items())
    print(
        f"\n[{name}] injected {dict(smtp_server.injected)}; counted {counts.sent} sent, "
        f"{counts.accepted} accepted at the sink, {counts.repeated} repeated, "
        f"{counts.retries} retries, {counts.failed} failed, {counts.seconds:.1f} s{extra}"
    )


def delivered_once(smtp_server, dispatch: Dispatch, people: list[str]) -> collections.Counter:
    """Every recipient got this dispatch's message, under the Message-ID its row recorded;
    returns the copies per recipient (more than 1: repeated), for the test to bound."""
    recorded = dict(
        Delivery.objects.filter(dispatch=dispatch, status=DeliveryStatus.SENT).values_list(
            "email", "message_id"
        )
    )
    assert sorted(recorded) == sorted(people)
    copies = smtp_server.copies()
    per_recipient = collections.Counter()
    for address in people:
        message_id = f"<{recorded[address]}>"
        per_recipient[address] = copies[(address, message_id)]
        assert per_recipient[address] >= 1, f"{address} never got {message_id}"
    return per_recipient


def workers_ready(count: int, *, timeout: float = 90) -> list[str]:
    """Wait until `count` workers answer a ping through the broker; returns their names."""
    from worker.celery import app

    def answered():
        replies = app.control.ping(timeout=1.0)
        names = sorted(name for reply in replies for name in reply)
        return names if len(names) >= count else None

    return wait_until(answered, timeout=timeout, interval=0.5, message=f"{count} workers not up")
