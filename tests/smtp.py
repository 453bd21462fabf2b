"""A real SMTP server on loopback (aiosmtpd) that records what it receives.

Use the `smtp_server` fixture. Point the sending pipeline at `smtp_server.url` (EMAIL_URL) or
Django's mail API at it with `smtp_server.django_settings()`. It can answer chosen recipients
with a 4xx once or a 5xx always, be slow, or hold every conversation at MAIL, RCPT or the end
of DATA (to freeze workers mid-dispatch), and it offers PIPELINING as production mail servers
do.

For the fault tests it also misbehaves as real relays do, through hooks a test sets (each
returns None for "behave"): `on_connect` (a reply such as 421 instead of the greeting, then
hang up), `on_mail` (a reply to MAIL, given how many messages this connection has carried;
a 421 hangs up after it), `on_rcpt` and `on_data_end` (a reply for one recipient), `drop_in_data`
(hang up after the first line of the message), `lose_reply` (accept the message, then hang up
before the 250: the one duplicate SMTP cannot avoid) and `reply_delay` (seconds before the
reply to the end of DATA). `stop_listening()` / `listen()` close and reopen the port. Every fault it
injects is counted in `injected`, and every message it accepts is kept with the time its
MAIL arrived (`accepted_at`), so a test can count repeats per (recipient, Message-ID) and
messages per second.
"""

from __future__ import annotations

import asyncio
import collections
import re
import socket
import threading
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, syntax

_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


class SmtpRecorder:
    """The aiosmtpd handler, and what the tests ask of the server."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[str, bytes]] = []  # (recipient, message as sent)
        self.envelope_senders: dict[str, str] = {}  # recipient → its latest MAIL FROM
        self.fail_once: dict[str, str] = {}  # address → 4xx reply, used up on first try
        self.fail_always: dict[str, str] = {}  # address → 5xx reply
        self.fail_data_once: dict[str, str] = {}  # address → reply to the end of DATA, once
        self.delay = 0.0
        self.attempts: dict[str, int] = {}
        # Once this many messages are accepted, the `hold_at` command (MAIL, RCPT or the end
        # of DATA) waits until `release()`: the test then knows where every worker is in its
        # conversation. A client that dies while held gets no reply, and a held DATA whose
        # client is gone is discarded (aiosmtpd cancels the handler), as a real server does.
        self.hold_after: int | None = None
        self.hold_at = "RCPT"
        self.held = 0
        self.host = "127.0.0.1"
        self.port = 0
        # Fault hooks (see the module docstring); None or a hook returning None: no fault.
        self.on_connect: Callable[[int], str | None] | None = None
        self.on_mail: Callable[[int], str | None] | None = None
        self.on_rcpt: Callable[[str, int], str | None] | None = None
        self.on_data_end: Callable[[str, int], str | None] | None = None
        self.drop_in_data: Callable[[str, int], bool] | None = None
        self.lose_reply: Callable[[str, int], bool] | None = None
        self.reply_delay: Callable[[], float] | None = None
        self.injected: collections.Counter[str] = collections.Counter()
        self.connections = 0  # connections accepted (refused at the greeting included)
        self.accepted_at: list[float] = []  # time.time() of the MAIL of each accepted message
        self.rcpt_at: dict[str, list[float]] = {}  # time.time() of every RCPT per address
        self._controller: Controller | None = None
        # False: a server that does not offer PIPELINING (RFC 2920).
        self.pipelining = True
        self.open_connections = 0  # conversations past the greeting, not yet ended
        self.max_open_connections = 0  # at once, at most
        self.open_transactions = 0  # MAIL given, the end of DATA (or RSET) not yet reached
        self.max_open_transactions = 0  # conversations at work at once, at most
        # Commands that arrived before the reply to the previous one had been sent, i.e.
        # pipelined: seen at MAIL (its RCPT already waiting) and at the end of DATA (the next
        # MAIL already waiting, one round trip per message).
        self.pipelined_at_mail = 0
        self.pipelined_after_data = 0

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def release(self) -> None:
        self.hold_after = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        # aiosmtpd reads pipelined commands in order, so it may advertise PIPELINING.
        session.host_name = hostname
        if not self.pipelining:
            return responses
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_HELO(self, server, session, envelope, hostname):  # noqa: N802
        session.host_name = hostname
        return f"250 {server.hostname}"

    @staticmethod
    def _waiting_input(server) -> bool:
        # What the client sent beyond the command being handled (aiosmtpd's stream buffer).
        return bool(server._reader._buffer)

    def _transaction_ended(self, envelope) -> None:
        with self.lock:
            if getattr(envelope, "lansnytt_open", False):
                envelope.lansnytt_open = False
                self.open_transactions -= 1

    async def handle_RSET(self, server, session, envelope):  # noqa: N802
        self._transaction_ended(envelope)
        return "250 OK"

    async def _hold(self, command: str) -> None:
        if self.hold_at != command:
            return
        if self.hold_after is not None and len(self.received) >= self.hold_after:
            self.held += 1
            try:
                while self.hold_after is not None:
                    await asyncio.sleep(0.01)
            finally:
                self.held -= 1

    def inject(self, fault: str) -> None:
        with self.lock:
            self.injected[fault] += 1

    def connection_fault(self) -> str | None:
        with self.lock:
            self.connections += 1
            number = self.connections
        reply = self.on_connect(number) if self.on_connect else None
        if reply:
            self.inject(f"connect {reply.split()[0]}")
        return reply

    def data_drop(self, envelope) -> bool:
        if not (self.drop_in_data and envelope.rcpt_tos):
            return False
        address = envelope.rcpt_tos[0]
        if self.drop_in_data(address, self.attempts.get(address, 0)):
            self.inject("drop in DATA")
            return True
        return False

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        await self._hold("MAIL")
        envelope.mail_started_at = time.time()
        if self.on_mail:
            reply = self.on_mail(getattr(session, "accepted", 0))
            if reply:
                self.inject(f"MAIL {reply.split()[0]}")
                if reply.startswith("421"):
                    # 421 means "closing the channel" (RFC 5321 3.8): hang up after the reply.
                    asyncio.get_running_loop().call_soon(server.transport.close)
                return reply
        with self.lock:
            if self._waiting_input(server):
                self.pipelined_at_mail += 1
            if not getattr(envelope, "lansnytt_open", False):
                envelope.lansnytt_open = True
                self.open_transactions += 1
                self.max_open_transactions = max(self.max_open_transactions, self.open_transactions)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        await self._hold("RCPT")
        with self.lock:
            self.attempts[address] = self.attempts.get(address, 0) + 1
            self.rcpt_at.setdefault(address, []).append(time.time())
            if address in self.fail_always:
                return self.fail_always[address]
            if address in self.fail_once:
                return self.fail_once.pop(address)
            attempt = self.attempts[address]
        reply = self.on_rcpt(address, attempt) if self.on_rcpt else None
        if reply:
            self.inject(f"RCPT {reply.split()[0]}")
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        await self._hold("DATA")
        self._transaction_ended(envelope)
        delay = self.reply_delay() if self.reply_delay else 0
        if delay:
            self.inject(f"end of DATA reply delayed {delay:g} s")
            await asyncio.sleep(delay)
        if self.on_data_end:
            address = envelope.rcpt_tos[0]
            reply = self.on_data_end(address, self.attempts.get(address, 0))
            if reply:
                self.inject(f"end of DATA {reply.split()[0]}")
                return reply
        with self.lock:
            if self._waiting_input(server):
                self.pipelined_after_data += 1
            for address in envelope.rcpt_tos:
                if address in self.fail_data_once:
                    return self.fail_data_once.pop(address)
            for address in envelope.rcpt_tos:
                self.received.append((address, envelope.original_content))
                self.accepted_at.append(getattr(envelope, "mail_started_at", time.time()))
                self.envelope_senders[address] = envelope.mail_from
            session.accepted = getattr(session, "accepted", 0) + 1
            reply = f"250 OK queued as q{len(self.received)}"
        address = envelope.rcpt_tos[0]
        if self.lose_reply and self.lose_reply(address, self.attempts.get(address, 0)):
            # Queued, but the client never hears so (RFC 1047): it must send it again.
            self.inject("reply lost after accepting")
            server.transport.abort()
            # aiosmtpd's way out of a conversation whose line is gone (no reply is pushed).
            raise ConnectionResetError("the sink hung up before its 250")
        return reply

    def copies(self) -> collections.Counter[tuple[str, str]]:
        """Accepted messages per (recipient, Message-ID): more than 1 is a message sent twice."""
        with self.lock:
            raw = list(self.received)
        return collections.Counter(
            (address, match.group(1).decode() if match else "")
            for address, content in raw
            for match in [_MESSAGE_ID.search(content.split(b"\r\n\r\n", 1)[0])]
        )

    def listen(self) -> None:
        """Open the port (again): a new controller, since a stopped one cannot restart."""
        with self.lock:
            before = self.connections
        self._controller = FaultyController(self, hostname=self.host, port=self.port)
        self._controller.start()
        with self.lock:
            # start() returns once its own probe has read the greeting: not a client's.
            self.connections = before

    def stop_listening(self) -> None:
        """Close the port: connections in progress are cut, new ones are refused."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def recipients(self) -> list[str]:
        with self.lock:
            return [address for address, _ in self.received]

    def parsed(self, address: str) -> list[EmailMessage]:
        with self.lock:
            raw = [content for to, content in self.received if to == address]
        return [message_from_bytes(content, policy=policy.default) for content in raw]

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            raw = [content for _to, content in self.received]
        return [message_from_bytes(content, policy=policy.default) for content in raw]

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} messages, got {len(self.received)}")
            time.sleep(0.05)
        return self.messages()

    def django_settings(self) -> dict:
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": self.port,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
        }


class FaultySMTP(SMTP):
    """aiosmtpd's server, able to refuse a connection at the greeting or hang up mid-DATA."""

    async def _handle_client(self) -> None:
        reply = self.event_handler.connection_fault()
        if reply:
            await self.push(reply)
            self.transport.close()
            return
        handler = self.event_handler
        with handler.lock:
            handler.open_connections += 1
            handler.max_open_connections = max(
                handler.max_open_connections, handler.open_connections
            )
        try:
            await super()._handle_client()
        finally:
            with handler.lock:
                handler.open_connections -= 1

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802
        if self.envelope is not None and self.event_handler.data_drop(self.envelope):
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            await self._reader.readuntil(b"\r\n")  # the first line of the message, then gone
            self.transport.abort()
            # Ends the conversation here, rather than reading the rest of the message, which
            # is already in the buffer, as commands.
            raise ConnectionResetError("the sink hung up in the middle of DATA")
        await super().smtp_DATA(arg)


class FaultyController(Controller):
    def factory(self) -> SMTP:
        return FaultySMTP(self.handler, **self.SMTP_kwargs)


def free_port() -> int:
    # aiosmtpd's Controller checks readiness by connecting to the port it was given, so it
    # needs a real one: ask the kernel for a free port first.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    recorder = SmtpRecorder()
    recorder.port = free_port()
    recorder.listen()
    try:
        yield recorder
    finally:
        recorder.stop_listening()
