"""A real SMTP server on loopback (aiosmtpd) that records what it receives.

Use the `smtp_server` fixture. Point the sending pipeline at `smtp_server.url` (EMAIL_URL) or
Django's mail API at it with `smtp_server.django_settings()`. It can answer chosen recipients
with a 4xx once or a 5xx always, be slow, or hold every conversation at MAIL, RCPT or the end
of DATA (to freeze workers mid-dispatch), and it offers PIPELINING as production mail servers
do.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


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

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def release(self) -> None:
        self.hold_after = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        # aiosmtpd reads pipelined commands in order, so it may advertise PIPELINING.
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

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

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        await self._hold("MAIL")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        await self._hold("RCPT")
        with self.lock:
            self.attempts[address] = self.attempts.get(address, 0) + 1
            if address in self.fail_always:
                return self.fail_always[address]
            if address in self.fail_once:
                return self.fail_once.pop(address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        await self._hold("DATA")
        with self.lock:
            for address in envelope.rcpt_tos:
                if address in self.fail_data_once:
                    return self.fail_data_once.pop(address)
            for address in envelope.rcpt_tos:
                self.received.append((address, envelope.original_content))
                self.envelope_senders[address] = envelope.mail_from
            return f"250 OK queued as q{len(self.received)}"

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
    controller = Controller(recorder, hostname=recorder.host, port=recorder.port)
    controller.start()
    try:
        yield recorder
    finally:
        controller.stop()
