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

import psycopg
from django.conf import settings
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


def deadlocked(error: BaseException) -> bool:
    """Whether PostgreSQL ended the statement to break a deadlock (SQLSTATE 40P01).

    A batch's threads write the same rows on their own connections (the recorder its
    records, the heartbeat its renewal, the sweeper and a release theirs), and two UPDATEs
    that lock some of the same rows in a different order can wait for each other. PostgreSQL
    then ends one of them after deadlock_timeout, which changed nothing: every such
    statement here is a conditional UPDATE, safe to run again at once.
    """
    return getattr(error.__cause__, "sqlstate", None) == "40P01"


def reconnecting(call: Callable[[], T]) -> T:
    """Run `call`; if it failed because the connection was lost, once more on a new one, and
    if it was ended to break a deadlock, once more at once.

    Only for statements that are safe to run twice and outside a transaction block (inside
    one, the work before the failure is gone too, and retrying the last statement alone would
    be wrong). A second failure (the database is still away) is raised to the caller.
    """
    try:
        return call()
    except CONNECTION_ERRORS as error:
        if connection.in_atomic_block:
            raise
        if deadlocked(error):
            return call()
        if not connection_lost():
            raise
        connection.close()
        return call()


class _PreparingCursor(psycopg.Cursor):
    """Server-side binding, every statement prepared (psycopg's prepare=True)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


# Statements psycopg would prepare by itself after this many runs: none, here. Django opens
# its connections with prepared statements off (prepare_threshold None, for connection
# poolers), and psycopg then ignores even prepare=True, so a connection prepared_cursor()
# uses gets this instead: only the statements it runs are prepared, never Django's own.
_NEVER_BY_ITSELF = 2**31 - 1


def prepared_cursor():
    """A cursor on this thread's connection whose statements PostgreSQL parses and plans once
    per connection, for the pipeline's hottest fixed statements (the records, the claim's
    UPDATE, the status check).

    Planning the records' UPDATE cost PostgreSQL 0.14 ms per group against 0.35 ms to run it
    with all its rows (bench/profile_batch.py with pg_stat_statements): prepared, PostgreSQL
    plans it a few times, settles on the generic plan (by primary key, see
    tests/sending/test_sending_prepared_statements.py) and plans no more. A Django cursor
    wrapper all the same, so errors are Django's (CONNECTION_ERRORS) and the test suite's
    query capture sees these statements. With DATABASE_PREPARED_STATEMENTS off (a pooler in
    transaction mode that cannot carry prepared statements) it is a plain cursor.
    """
    if connection.vendor != "postgresql" or not settings.DATABASE_PREPARED_STATEMENTS:
        return connection.cursor()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = connection.connection
    if raw.prepare_threshold is None:  # a new connection (reconnecting() makes them too)
        raw.prepare_threshold = _NEVER_BY_ITSELF
    cursor = _PreparingCursor(raw)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


def bigint_array(ids: list[int]) -> str:
    """Ids as a PostgreSQL array literal, for a `%s::bigint[]` parameter: joined in C, where
    psycopg adapts a list one element at a time in Python (a claim's 500 ids, a group's
    records)."""
    return "{" + ",".join(map(str, ids)) + "}"
