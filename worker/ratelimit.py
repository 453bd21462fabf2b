"""The global send rate: messages per minute across every worker, counted in Redis.

A fixed one-minute window per key: every worker increments the same counter, and one that
finds the window full sleeps until the next one. Without Redis (the embedded default there is
only this process) the count is kept in memory.
"""

from __future__ import annotations

import time

from django.conf import settings

_KEY = "lansnytt:send-rate:{window}"


class SendRate:
    def __init__(self, per_minute: int | None = None):
        self.per_minute = settings.SEND_RATE_PER_MINUTE if per_minute is None else per_minute
        self._redis = None
        self._local: dict[int, int] = {}
        if self.per_minute > 0 and settings.REDIS_URL:
            import redis

            self._redis = redis.Redis.from_url(settings.REDIS_URL)

    def _count(self, window: int) -> int:
        if self._redis is None:
            self._local = {window: self._local.get(window, 0) + 1}
            return self._local[window]
        key = _KEY.format(window=window)
        pipeline = self._redis.pipeline()
        pipeline.incr(key)
        pipeline.expire(key, 120)
        return pipeline.execute()[0]

    def wait(self) -> None:
        """Return when one more message may be sent."""
        if self.per_minute <= 0:
            return
        while True:
            now = time.time()
            window = int(now // 60)
            if self._count(window) <= self.per_minute:
                return
            time.sleep((window + 1) * 60 - now + 0.01)
