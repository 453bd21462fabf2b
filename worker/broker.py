"""What the broker can tell an operator: is any worker listening, and how long is the queue.

Used by `send_issue --wait` and `dispatch_status --wait` when a dispatch makes no progress,
to say which broker they looked at and what to start, instead of waiting in silence; and by
`send_issue` before it creates a dispatch (broker_unreachable).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from kombu.utils.url import maybe_sanitize_url

# A ping is a broadcast that every live worker answers from its control thread, even while
# all its pool processes are busy sending; a second is plenty on any network and keeps the
# waiting command responsive.
PING_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class BrokerReport:
    url: str  # the broker URL with any password masked
    reachable: bool
    workers: list[str] = field(default_factory=list)  # host names that answered the ping
    queue: str = "celery"
    queue_length: int | None = None  # messages waiting in the default queue
    error: str = ""


def broker_url_masked() -> str:
    return maybe_sanitize_url(settings.CELERY_BROKER_URL)


def broker_report(*, ping_timeout: float = PING_TIMEOUT_SECONDS) -> BrokerReport:
    """Ping the workers and count the default queue, never waiting long on a dead broker."""
    from amqp.exceptions import ChannelError

    from .celery import app

    url = broker_url_masked()
    queue = app.conf.task_default_queue
    try:
        with app.connection_for_write() as connection:
            # One retry only: a broker that is down must be reported, not waited for.
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            try:
                _, length, _ = connection.default_channel.queue_declare(queue=queue, passive=True)
            except ChannelError:
                length = 0  # nobody has declared the queue yet: nothing was ever put in it
            replies = app.control.ping(timeout=ping_timeout, connection=connection) or []
    except Exception as error:  # any transport error means "not reachable"
        return BrokerReport(url=url, reachable=False, queue=queue, error=str(error) or repr(error))
    workers = sorted(name for reply in replies for name in reply)
    return BrokerReport(url=url, reachable=True, workers=workers, queue=queue, queue_length=length)


def broker_unreachable() -> str:
    """Why the broker cannot take a task now, or "" when it can: one connection attempt,
    never a wait (the same one try as broker_report, without the ping)."""
    from .celery import app

    # Registering the tasks happens once per process, at its first task sent (~30 ms here):
    # now, before the dispatch's transaction, rather than in the hand-over after its commit,
    # which is what the workers wait for.
    app.finalize(auto=True)
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as error:  # any transport error means "not reachable"
        return str(error) or repr(error)
    return ""
