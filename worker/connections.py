"""A batch's database connections outlive a lost connection.

A batch holds up to three connections for its whole life: the sending loop's, the recorder's
and the heartbeat's (one per thread). Django opens a connection when a request or task begins
and checks it only then (close_old_connections, CONN_HEALTH_CHECKS); a connection that dies in
the middle of a batch (the backend terminated, PostgreSQL restarted, a proxy cut it) stays
broken for the rest of the batch. Every statement the batch repeats is a conditional UPDATE
or a read limited to its own rows (the claim token), so running one again on a new connection
can neither lose a row nor record one twice: these helpers do exactly that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection

T = TypeVar("T")

CONNECTION_ERRORS = (InterfaceError, OperationalError)


def connection_lost() -> bool:
    """Whether this thread's connection is gone (rather than a statement having failed)."""
    if connection.connection is None:
        return True
    try:
        return not connection.is_usable()
    except Exception:
        return True


def reconnecting(call: Callable[[], T]) -> T:
    """Run `call`; if it failed because the connection was lost, once more on a new one.

    Only for statements that are safe to run twice and outside a transaction block (inside
    one, the work before the failure is gone too, and retrying the last statement alone would
    be wrong). A second failure (the database is still away) is raised to the caller.
    """
    try:
        return call()
    except CONNECTION_ERRORS:
        if connection.in_atomic_block or not connection_lost():
            raise
        connection.close()
        return call()
