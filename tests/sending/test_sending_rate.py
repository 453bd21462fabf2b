"""The global send rate is shared by every sender through Redis."""

import threading
import time

import pytest

from worker.ratelimit import SendRate


def test_it_makes_a_second_sender_wait_when_the_shared_minute_is_used_up(settings):
    import redis

    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    # Stay clear of a minute boundary, where the window legitimately starts afresh.
    if time.time() % 60 > 55:
        time.sleep(61 - time.time() % 60)
    first, second = SendRate(per_minute=2), SendRate(per_minute=2)

    first.wait()
    second.wait()
    third = threading.Thread(target=first.wait, daemon=True)
    third.start()
    third.join(timeout=1.0)

    assert third.is_alive(), "a third message in the same minute was let through"
