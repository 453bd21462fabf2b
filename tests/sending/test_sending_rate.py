"""The global send rate is shared by every sender through Redis, and spread over the minute."""

import threading

import pytest

from worker.ratelimit import SendRate


@pytest.fixture
def redis_flushed(settings):
    import redis

    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


def test_it_makes_a_second_sender_wait_for_the_next_slot_of_the_shared_schedule(redis_flushed):
    first, second = SendRate(per_minute=2), SendRate(per_minute=2)  # one message per 30 s

    first.wait()
    waiting = threading.Thread(target=second.wait, daemon=True)
    waiting.start()
    waiting.join(timeout=1.0)

    assert waiting.is_alive(), "a second message went out at once, not 30 s later"


def test_it_lets_one_second_s_worth_go_at_once_but_not_a_minute_s(redis_flushed):
    senders = [SendRate(per_minute=600) for _ in range(3)]  # 10 a second, shared

    waits = [senders[number % 3].reserve() for number in range(30)]

    assert waits[:10] == [0.0] * 10  # the first second's worth at once
    # then one every 0.1 s: the 30th is 2 s out, less the time these calls took
    assert 1.0 < waits[-1] <= 2.0
    assert max(waits) <= 2.0
