"""A relay that stops reading in the middle of a message (its receive window closes): the
connection's write waits in drain, not in a read, and must still break by EMAIL_TIMEOUT at
its default, with the message tried again later and the other connections going on.

The server is a plain socket server on loopback written for this (aiosmtpd always reads):
it speaks PIPELINING and, on the first message of one connection, answers DATA with 354 and
then never reads again. The message must be larger than what the kernel takes on its own:
a loopback socket's send buffer grows to about 4 MB here, and asyncio buffers 64 KB more
before drain waits, so the issue gets one article with a lead of about 2.6 MB (text and HTML
parts, so over 5 MB per message). A real newsletter is far smaller: on a real relay a stall
is almost always met in a read, which test_sending_connections.py covers.
"""

import collections
import math
import socket
import threading
import time

import pytest
from django.core.management import call_command

from newsletter.models import Article
from tests.dispatching import issue_approved
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from worker.models import Delivery, DeliveryStatus, Dispatch
from worker.relay import RelayConnection
from worker.sending import ROWS_PER_CONNECTION_AT_LEAST, delivery_batch_send

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 2 * ROWS_PER_CONNECTION_AT_LEAST  # two connections
# About 600 KB of text: with its HTML part the message is well over a megabyte.
LARGE_LEAD = "\n\n".join(
    f"Stycke {n}: " + "Bibliotek i länet läser vidare. " * 20 for n in range(4000)
)


class StallingRelay:
    """SMTP on a loopback port; one connection stops reading after its first 354."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        # Set before listen, so every accepted connection has the small window.
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.url = f"smtp://127.0.0.1:{self.listener.getsockname()[1]}"
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.stalled_at: float | None = None
        self.stalled_recipient = ""
        self.delivered: collections.Counter[str] = collections.Counter()
        self.smallest_message = 0  # in bytes, of those read to the end
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.listener.close()
        for connection in self.connections:
            connection.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)
            threading.Thread(target=self._converse, args=(connection,), daemon=True).start()

    def _converse(self, connection: socket.socket) -> None:
        lines = connection.makefile("rb")
        try:
            connection.sendall(b"220 relay.example.se ESMTP\r\n")
            recipient = ""
            while line := lines.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    connection.sendall(b"250-relay.example.se\r\n250 PIPELINING\r\n")
                elif verb == b"RCPT":
                    recipient = line.decode().partition("<")[2].partition(">")[0]
                    connection.sendall(b"250 2.1.5 Ok\r\n")
                elif verb == b"DATA":
                    connection.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    with self.lock:
                        stall = self.stalled_at is None
                        if stall:
                            self.stalled_at = time.monotonic()
                            self.stalled_recipient = recipient
                    if stall:
                        self.release.wait()  # and never read again
                        return
                    size = 0
                    while (data := lines.readline()) not in (b".\r\n", b""):
                        size += len(data)
                    with self.lock:
                        self.delivered[recipient] += 1
                        self.smallest_message = min(self.smallest_message or size, size)
                    connection.sendall(b"250 2.0.0 Ok: queued\r\n")
                elif verb == b"QUIT":
                    connection.sendall(b"221 Bye\r\n")
                    return
                else:  # MAIL, RSET, NOOP
                    connection.sendall(b"250 Ok\r\n")
        except OSError:
            return
        finally:
            lines.close()


@pytest.fixture
def stalling_relay(settings, redis_purged):
    relay = StallingRelay()
    settings.EMAIL_URL = relay.url
    settings.SEND_BATCH_SIZE = ROWS
    yield relay
    relay.close()


def test_it_breaks_a_connection_whose_server_stops_reading_mid_message_by_the_default_timeout(
    stalling_relay, settings, monkeypatch
):
    timeout = settings.EMAIL_TIMEOUT
    assert timeout == 30  # lansnytt/settings.py's default
    assert settings.SEND_CONNECTIONS >= math.ceil(ROWS / ROWS_PER_CONNECTION_AT_LEAST) > 1
    readers = segment_make(slug="lasare")
    addresses = [
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers]).email
        for n in range(ROWS)
    ]
    issue = sendable_issue_make(approved=False)
    Article.objects.filter(issue=issue, position=1).update(lead=LARGE_LEAD)
    issue_approved(issue)
    call_command("send_issue", issue.slug)  # the start task waits in Redis
    dispatch = Dispatch.objects.get()

    # Which waits ended how: the proof that the stall was met in drain, not in a read.
    drains: list[float] = []
    drain = RelayConnection.drain

    async def drain_timed(self):
        started = time.monotonic()
        try:
            await drain(self)
        finally:
            drains.append(time.monotonic() - started)

    monkeypatch.setattr(RelayConnection, "drain", drain_timed)
    relay = stalling_relay
    results: list = []

    def batch() -> None:
        from django.db import connection

        try:
            results.append(delivery_batch_send(dispatch_id=dispatch.pk))
        finally:
            connection.close()

    # On a thread, so that a drain that never gives up fails this test instead of hanging it.
    sending = threading.Thread(target=batch)
    sending.start()
    sending.join(timeout=timeout * 1.1 + 60)
    ended = time.monotonic()
    if sending.is_alive():
        relay.close()  # the connection resets, and the batch can end
        sending.join(timeout=60)
        pytest.fail(
            f"the batch still waited on the stalled relay {ended - relay.stalled_at:.0f} s on"
        )
    (result,) = results
    assert relay.stalled_at is not None
    assert relay.smallest_message > 5_000_000
    assert timeout <= ended - relay.stalled_at < timeout * 1.1 + 5
    assert max(drains) >= timeout, "the write never had to wait: the message fit the buffers"
    assert (result.sent, result.retried) == (ROWS - 1, 1)
    late = Delivery.objects.get(status=DeliveryStatus.QUEUED)
    assert late.email == relay.stalled_recipient
    assert late.attempts == 1 and f"no reply within {timeout}" in late.last_error
    assert late.next_attempt_at is not None and late.claim_token is None
    sent = Delivery.objects.filter(status=DeliveryStatus.SENT)
    assert set(sent.values_list("email", flat=True)) == set(addresses) - {late.email}
    # Everyone else got it exactly once; the stalled reader got nothing the server accepted.
    assert relay.delivered == collections.Counter(set(addresses) - {late.email})
