"""One run at a time of a periodic job (the bounce-mailbox poll, the retention purge).

Beat may start a job again before the last run ended, and an operator may run its command
meanwhile. The lock only saves the second run its work: each job is safe without it (its
rows are claimed in the database), so a lock lost to a Redis restart costs time, not data.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache


@contextlib.contextmanager
def single_run_lock(name: str, *, timeout: int) -> Iterator[bool]:
    """True when this process holds the lock `name` (Redis, or the cache without it); it
    lapses after `timeout` seconds should the holder die."""
    if settings.REDIS_URL:
        import redis

        lock = redis.Redis.from_url(settings.REDIS_URL).lock(name, timeout=timeout)
        held = lock.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                with contextlib.suppress(redis.exceptions.LockError):
                    lock.release()
        return
    token = uuid.uuid4().hex
    held = cache.add(name, token, timeout)
    try:
        yield held
    finally:
        if held and cache.get(name) == token:
            cache.delete(name)
