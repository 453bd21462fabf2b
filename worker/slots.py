"""Slots that all workers together share, so that no more than a limit of something is at work.

Two limits use them:

- `RelaySlots`: connections to one relay (SEND_MAX_CONNECTIONS_PER_RELAY). Relays limit
  concurrent connections per client (Microsoft 365, for one, allows only a few), and every
  worker's every batch opens several, so a batch takes connection slots before it claims rows.
- `BatchSlots`: batches of one dispatch at work at once (SEND_PARALLEL_BATCHES). A pause and a
  quick resume start a new fan-out while the old batches may still be finishing, and a
  successor task may still wait in the broker: without a shared count, every such round could
  add SEND_PARALLEL_BATCHES more. A batch takes its dispatch's slot before it claims rows, and
  a batch task that finds every slot taken ends its chain: that many batches are at work already.

A slot is a member of a Redis sorted set, scored with the time it lapses, so the slots of a
killed worker come free by themselves after DELIVERY_CLAIM_SECONDS. The batch's heartbeat
renews them with its claim. Taking slots is one Lua script, so two workers can never both
take the last one.

Without Redis (the embedded default) there is only this process, and the limit applies to it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from django.conf import settings

logger = logging.getLogger(__name__)

# KEYS[1] the set of slots; ARGV: now, lapses at, limit, the fewest worth taking, then the
# tokens wanted.
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local free = tonumber(ARGV[3]) - redis.call('ZCARD', KEYS[1])
if free < tonumber(ARGV[4]) then return 0 end
local taken = 0
for index = 5, #ARGV do
    if taken >= free then break end
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[index])
    taken = taken + 1
end
redis.call('EXPIRE', KEYS[1], 3600)
return taken
"""

_local_lock = threading.Lock()
_local_held: dict[str, int] = {}


class Slots:
    """The slots of one limit that one batch holds (a limit of 0 or less: no limit)."""

    def __init__(self, key: str, limit: int) -> None:
        self.key = key
        # Tokens are "<holder>.<n>": the holders of a limit can be told apart (RelaySlots.share).
        self.holder = uuid.uuid4().hex
        self.tokens: list[str] = []
        self.limit = limit
        self._redis = None
        if settings.REDIS_URL:
            import redis

            self._redis = redis.Redis.from_url(settings.REDIS_URL)

    @property
    def count(self) -> int:
        return len(self.tokens)

    def take(self, wanted: int, *, at_least: int = 1) -> int:
        """Take up to `wanted` slots (fewer if others hold the rest, none if fewer than
        `at_least` are free); returns how many."""
        if self.limit <= 0:
            self.tokens = [""] * wanted  # no limit: nothing to keep track of
            return wanted
        tokens = [f"{self.holder}.{number}" for number in range(wanted)]
        if self._redis is None:
            with _local_lock:
                taken = max(0, min(wanted, self.limit - _local_held.get(self.key, 0)))
                taken = taken if taken >= at_least else 0
                _local_held[self.key] = _local_held.get(self.key, 0) + taken
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
                    at_least,
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
                _local_held[self.key] = max(0, _local_held.get(self.key, 0) - len(tokens))
            return
        try:
            self._redis.zrem(self.key, *tokens)
        except Exception:
            # Redis is away: the slots lapse by themselves (DELIVERY_CLAIM_SECONDS), and a
            # batch that has sent must still end as usual and schedule its successor.
            logger.warning("giving back slots of %s failed", self.key, exc_info=True)

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()


class RelaySlots(Slots):
    """Connection slots one batch holds to one relay.

    A batch takes as many as it can use (SEND_CONNECTIONS), so a lone batch has the whole
    limit. A batch that finds none free says it is waiting (`waiting_note`), and the batches
    at work then keep only an equal share (`share`), ending their other connections as their
    messages finish, so that the waiting batch gets slots at its next try: two workers send
    side by side instead of taking turns.
    """

    def __init__(self, relay: str) -> None:
        super().__init__(
            f"lansnytt:relay-connections:{relay}", settings.SEND_MAX_CONNECTIONS_PER_RELAY
        )
        self.relay = relay
        self._waiting_key = f"lansnytt:relay-waiting:{relay}"

    def waiting_note(self, who: str) -> None:
        """`who` (a dispatch's batches) found no slot free and tries again soon."""
        if self._redis is None or self.limit <= 0:
            return
        # Lapses unless renewed by the next try (SEND_RELAY_BUSY_RETRY_SECONDS apart).
        lapses = time.time() + 2 * settings.SEND_RELAY_BUSY_RETRY_SECONDS + 1
        try:
            self._redis.zadd(self._waiting_key, {who: lapses})
            self._redis.expire(self._waiting_key, 3600)
        except Exception:
            logger.warning("noting a wait for %s failed", self.key, exc_info=True)

    def waiting_withdraw(self, who: str) -> None:
        if self._redis is None or self.limit <= 0:
            return
        try:
            self._redis.zrem(self._waiting_key, who)
        except Exception:
            logger.warning("withdrawing a wait for %s failed", self.key, exc_info=True)

    def share_awaited(self, wanted: int) -> int:
        """The slots a waiting batch should wait for: the share the batches at work will
        leave it (the limit among them and it), so that it does not start with the first
        slot that comes free."""
        if self._redis is None or self.limit <= 0:
            return 1
        members = self._redis.zrangebyscore(self.key, time.time(), "+inf")
        holders = self._holders(members) - {self.holder.encode()}
        return max(1, min(wanted, self.limit // (len(holders) + 1)))

    def share(self) -> int:
        """How many of its slots this batch may keep now: all of them while no batch waits,
        else an equal part of the limit among the holders and one waiter (at least one)."""
        if self._redis is None or self.limit <= 0 or not self.tokens:
            return self.count
        now = time.time()
        # Asked every SEND_STATUS_CHECK_EVERY messages, and nearly always nobody waits: the
        # count alone then, not the live tokens (one per connection of every batch) as well,
        # whose reply cost the worker more CPU than the rest of the status check.
        if not self._redis.zcount(self._waiting_key, now, "+inf"):
            return self.count
        members = self._redis.zrangebyscore(self.key, now, "+inf")
        holders = self._holders(members) | {self.holder.encode()}
        return max(1, min(self.count, self.limit // (len(holders) + 1)))

    @staticmethod
    def _holders(members) -> set[bytes]:
        """The batches holding the live slot tokens "<holder>.<n>"."""
        return {member.split(b".", 1)[0] for member in members}


class BatchSlots(Slots):
    """The one slot a batch of a dispatch holds while it is at work."""

    def __init__(self, dispatch_id: int) -> None:
        super().__init__(f"lansnytt:dispatch-batches:{dispatch_id}", settings.SEND_PARALLEL_BATCHES)
