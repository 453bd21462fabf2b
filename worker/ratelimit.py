"""The global send rate: messages per minute across every worker, paced through Redis.

Messages are spread evenly, one every 60 / SEND_RATE_PER_MINUTE seconds, with bursts of at
most one second's worth (GCRA, the "generic cell rate algorithm" of ATM networks and of
redis-cell): each sender reserves the next slot in one atomic Redis script and sleeps until
it. A fixed one-minute window, which this replaced, let a whole minute's budget out in the
first second of each minute (measured: 22 messages in one second at 30 a minute, after a slow
spell), which is exactly what a relay's own per-second throttle answers with 4xx. The time
is Redis's clock, so senders on machines whose clocks differ still share one schedule.
Without Redis (the embedded default there is only this process) the schedule is kept in
memory.

Rate-limit libraries (limits, pyrate-limiter) answer "may I, now?" over fixed or moving
windows; the pipeline needs "when may I?" for a queue of senders, which is the few lines
below.
"""

from __future__ import annotations

import time

from django.conf import settings

_KEY = "lansnytt:send-rate:tat"

# KEYS[1]: the theoretical arrival time of the next message (GCRA's TAT), seconds.
# ARGV[1]: seconds between messages; ARGV[2]: how far ahead of the schedule a burst may run.
# Returns, as a string (Redis truncates Lua numbers), how long the caller must wait.
_RESERVE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
local after = tat + interval
redis.call('SET', KEYS[1], string.format('%.6f', after), 'PX',
            math.ceil((after - now) * 1000) + 60000)
return string.format('%.6f', wait)
"""


class SendRate:
    def __init__(self, per_minute: int | None = None):
        self.per_minute = settings.SEND_RATE_PER_MINUTE if per_minute is None else per_minute
        self._redis = None
        self._tat = 0.0  # the in-memory schedule (no Redis)
        if self.per_minute > 0:
            self.interval = 60 / self.per_minute
            # One second's worth may go at once (at least one message): no minute-long burst.
            self.tolerance = (max(1, self.per_minute // 60) - 1) * self.interval
            if settings.REDIS_URL:
                import redis

                self._redis = redis.Redis.from_url(settings.REDIS_URL)
                self._reserve = self._redis.register_script(_RESERVE)

    def reserve(self) -> float:
        """Reserve the next slot; returns the seconds to wait for it (the slot is taken either
        way: a caller that must not block, such as an event loop, sleeps that long itself)."""
        if self.per_minute <= 0:
            return 0.0
        if self._redis is not None:
            return float(self._reserve(keys=[_KEY], args=[self.interval, self.tolerance]))
        now = time.monotonic()
        tat = max(self._tat, now)
        self._tat = tat + self.interval
        return max(tat - self.tolerance - now, 0.0)

    def wait(self) -> None:
        """Return when one more message may be sent."""
        if self.per_minute <= 0:
            return
        delay = self.reserve()
        if delay > 0:
            time.sleep(delay)
