"""A batch's lease on the rows it claimed: short, and kept alive by a heartbeat.

A claim lasts DELIVERY_CLAIM_SECONDS (30 s by default) from its last renewal, so the rows of
a killed worker are free again within seconds, not minutes. A live batch renews its lease
every third of that from a thread of its own, in one UPDATE for the whole batch (its rows
found within the ids it claimed), so a slow SMTP reply or a slow send rate cannot let it
lapse. The renewal touches only rows carrying the batch's claim token: a row the sweeper took
back, and perhaps handed to another batch, is never extended by the old one.

The sending loop asks `usable()` before each message. If renewals have failed for two thirds
of the lease (the database is out of reach from this worker), it stops before handing the
server another message: the sweeper may soon give those rows to another worker, and two live
workers must never send the same row. Times are the database's clock (`Now()`), the same
clock the sweeper compares with, so clock drift between machines does not shorten a lease.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models.functions import Now

from .connections import reconnecting
from .models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)


def lease_until():
    """The expression for a lease that runs from now (database time)."""
    return Now() + timedelta(seconds=settings.DELIVERY_CLAIM_SECONDS)


def claims_renew(
    *, dispatch_id: int, claims: list[uuid.UUID], span: tuple[int, int] | None = None
) -> int:
    """Extend the lease of the batch's own rows still being sent, every claim of the batch in
    one statement.

    `span`: the lowest and highest id the batch claimed. Its rows are found within it on the
    dispatch's index, not by the ids of every row the batch claimed: a batch that refills for
    sending.REFILL_SECONDS holds dozens of claims, most of them sent long ago, and renewing
    them one by one looked up each of their hundreds of ids every renewal. (No index holds
    the status, see Delivery.Meta.indexes: without a span this reads all the dispatch's rows.)
    """
    rows = Delivery.objects.filter(
        dispatch_id=dispatch_id, status=DeliveryStatus.SENDING, claim_token__in=claims
    )
    if span is not None:
        rows = rows.filter(id__range=span)
    return rows.update(claimed_until=lease_until())


class _Lease:
    """The lease on every claim a batch holds (a batch that keeps its connections busy adds
    claims as it goes; each renewal covers all of them)."""

    def __init__(
        self, *, dispatch_id: int, claim: uuid.UUID, span: tuple[int, int] | None = None
    ) -> None:
        self.dispatch_id = dispatch_id
        self.claims: list[uuid.UUID] = [claim]
        self.span = span
        self.renewed_at = time.monotonic()  # the claim itself set the first lease
        self.interval = settings.DELIVERY_CLAIM_SECONDS / 3

    @property
    def claim(self) -> uuid.UUID:
        return self.claims[0]

    def add(self, *, claim: uuid.UUID, span: tuple[int, int] | None = None) -> None:
        """Another claim of the same batch, renewed with the others from now on (the claim
        itself set its first lease); `span` its lowest and highest id."""
        self.claims = [*self.claims, claim]
        if span is not None and self.span is not None:
            self.span = (min(self.span[0], span[0]), max(self.span[1], span[1]))

    def usable(self) -> bool:
        return time.monotonic() - self.renewed_at < self.interval * 2

    def _renew(self) -> None:
        started = time.monotonic()
        try:
            # A connection lost since the last renewal (a terminated backend, a restarted
            # server) is replaced at once rather than costing a whole interval.
            reconnecting(
                functools.partial(
                    claims_renew, dispatch_id=self.dispatch_id, claims=self.claims, span=self.span
                )
            )
        except Exception:
            # Leave the connection for the next try to reopen; usable() says when it is late.
            logger.warning("renewing the lease of claim %s failed", self.claim, exc_info=True)
            connection.close()
            return
        self.renewed_at = started


class InlineLease(_Lease):
    """Renewed by the sending loop (SQLite, the embedded default: one writer only)."""

    def tick(self) -> None:
        if time.monotonic() - self.renewed_at > self.interval:
            self._renew()

    def close(self) -> None:
        pass


class ThreadLease(_Lease):
    """Renewed by a heartbeat thread with its own connection, whatever the loop is doing.

    `renewers` are renewed on the same beat (the batch's relay connection slots); their
    failures are logged and never make the lease unusable.
    """

    def __init__(
        self,
        *,
        dispatch_id: int,
        claim: uuid.UUID,
        span: tuple[int, int] | None = None,
        renewers=(),
    ) -> None:
        super().__init__(dispatch_id=dispatch_id, claim=claim, span=span)
        self._renewers = list(renewers)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="delivery-lease", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from django.db import connection as thread_connection

        try:
            while not self._stop.wait(self.interval):
                self._renew()
                for renewer in self._renewers:
                    try:
                        renewer()
                    except Exception:
                        logger.warning("renewing %r failed", renewer, exc_info=True)
        finally:
            thread_connection.close()

    def tick(self) -> None:
        pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def lease_make(
    *, dispatch_id: int, claim: uuid.UUID, span: tuple[int, int] | None = None, renewers=()
) -> InlineLease | ThreadLease:
    """`span`: the lowest and highest id of the claim (see claims_renew)."""
    if connection.vendor == "postgresql":
        return ThreadLease(dispatch_id=dispatch_id, claim=claim, span=span, renewers=renewers)
    return InlineLease(dispatch_id=dispatch_id, claim=claim, span=span)
