"""How many connections all workers together hold to one relay (SEND_MAX_CONNECTIONS_PER_RELAY).

Relays limit concurrent connections per client (Microsoft 365, for one, allows only a few),
and every worker's every batch opens several. A batch therefore takes connection slots
before it claims rows: a slot is a member of a Redis sorted set per relay, scored with the
time it lapses, so the slots of a killed worker come free by themselves after
DELIVERY_CLAIM_SECONDS. The batch's heartbeat renews them with its claim. Taking slots is one
Lua script, so two workers can never both take the last one.

Without Redis (the embedded default) there is only this process, and the limit applies to it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from django.conf import settings

logger = logging.getLogger(__name__)

_KEY = "lansnytt:relay-connections:{relay}"

# KEYS[1] the relay's set; ARGV: now, lapses at, limit, then the tokens wanted.
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local free = tonumber(ARGV[3]) - redis.call('ZCARD', KEYS[1])
local taken = 0
for index = 4, #ARGV do
    if taken >= free then break end
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[index])
    taken = taken + 1
end
redis.call('EXPIRE', KEYS[1], 3600)
return taken
"""

_local_lock = threading.Lock()
_local_held: dict[str, int] = {}


class RelaySlots:
    """Connection slots one batch holds to one relay."""

    def __init__(self, relay: str) -> None:
        self.relay = relay
        self.key = _KEY.format(relay=relay)
        self.tokens: list[str] = []
        self.limit = settings.SEND_MAX_CONNECTIONS_PER_RELAY
        self._redis = None
        if settings.REDIS_URL:
            import redis

            self._redis = redis.Redis.from_url(settings.REDIS_URL)

    @property
    def count(self) -> int:
        return len(self.tokens)

    def take(self, wanted: int) -> int:
        """Take up to `wanted` slots (fewer if others hold the rest); returns how many."""
        if self.limit <= 0:
            self.tokens = [""] * wanted  # no limit: nothing to keep track of
            return wanted
        tokens = [uuid.uuid4().hex for _ in range(wanted)]
        if self._redis is None:
            with _local_lock:
                taken = max(0, min(wanted, self.limit - _local_held.get(self.relay, 0)))
                _local_held[self.relay] = _local_held.get(self.relay, 0) + taken
        else:
            now = time.time()
            taken = int(
                self._redis.eval(
                    _TAKE,
                    1,
                    self.key,
                    now,
                    now + settings.DELIVERY_CLAIM_SECONDS,
                    self.limit,
                    *tokens,
                )
            )
        self.tokens = tokens[:taken]
        return taken

    def give_back(self, count: int) -> None:
        """Give back `count` of the slots (a batch with fewer rows than slots)."""
        count = min(count, len(self.tokens))
        if count <= 0:
            return
        returned, self.tokens = self.tokens[:count], self.tokens[count:]
        self._release(returned)

    def renew(self) -> None:
        """Called by the batch's heartbeat: the slots lapse only if the worker stops."""
        if self._redis is None or self.limit <= 0 or not self.tokens:
            return
        self._redis.zadd(
            self.key,
            dict.fromkeys(self.tokens, time.time() + settings.DELIVERY_CLAIM_SECONDS),
            xx=True,
        )

    def release(self) -> None:
        returned, self.tokens = self.tokens, []
        self._release(returned)

    def _release(self, tokens: list[str]) -> None:
        if not tokens or self.limit <= 0:
            return
        if self._redis is None:
            with _local_lock:
                _local_held[self.relay] = max(0, _local_held.get(self.relay, 0) - len(tokens))
            return
        try:
            self._redis.zrem(self.key, *tokens)
        except Exception:
            # Redis is away: the slots lapse by themselves (DELIVERY_CLAIM_SECONDS), and a
            # batch that has sent must still end as usual and schedule its successor.
            logger.warning("giving back relay connection slots failed", exc_info=True)

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
