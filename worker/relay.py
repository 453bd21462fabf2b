"""An SMTP client connection on asyncio that pipelines across messages (RFC 2920).

With PIPELINING the end of one message's DATA and the next message's MAIL, RCPT and DATA go
in one write, so a message costs one round trip to the relay instead of the four of
smtplib's sendmail(). Replies come back in the order of the commands; the conversation in
worker/conversations.py matches them to messages. A server that does not offer PIPELINING
gets one command at a time.

Hand-written rather than aiosmtplib: aiosmtplib sends one message per sendmail() call and
waits for each reply, so it cannot put two messages' commands into one write, which is the
whole point here. What this client needs of SMTP is small (EHLO/HELO, STARTTLS, AUTH PLAIN or
LOGIN, MAIL/RCPT/DATA, RSET, QUIT); everything else is the conversation's business.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import time

import environ

from .transport import ServerUnavailable, TransportBroken

_CRLF = b"\r\n"
# What one read asks for; and the most a reply may be (a long EHLO list is a few KB).
_READ_SIZE = 2**16
_REPLY_LIMIT = 2**20


def envelope_commands(envelope_from: str, envelope_to: str) -> bytes:
    return b"MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n" % (
        envelope_from.encode("ascii"),
        envelope_to.encode("ascii"),
    )


def data_stuffed(message: bytes, *, stuffed: bool = False) -> bytes:
    """The message as it goes between DATA and the final "." (RFC 5321 4.5.2), with the dot.

    One bytes.replace instead of a regular expression per line: most messages need none.
    `stuffed`: the message is already in that form (MessageTemplate.render_wire).
    """
    if stuffed:
        return message + data_end(message)
    if message.startswith(b"."):
        message = b"." + message
    if b"\n." in message:
        message = message.replace(b"\r\n.", b"\r\n..")
    if not message.endswith(_CRLF):
        message += _CRLF
    return message + b".\r\n"


def data_end(stuffed: bytes) -> bytes:
    """What follows a dot-stuffed message to end its DATA."""
    return b".\r\n" if stuffed.endswith(_CRLF) else b"\r\n.\r\n"


class RelayConfig:
    """Where the relay is and how to log in, from EMAIL_URL (smtp://, smtp+tls://, smtps://)."""

    def __init__(self, url: str, *, timeout: float) -> None:
        config = environ.Env.email_url_config(url)
        self.host = config["EMAIL_HOST"] or "localhost"
        self.port = int(config["EMAIL_PORT"] or 25)
        self.user = config["EMAIL_HOST_USER"] or ""
        self.password = config["EMAIL_HOST_PASSWORD"] or ""
        self.use_tls = bool(config.get("EMAIL_USE_TLS"))
        self.use_ssl = bool(config.get("EMAIL_USE_SSL"))
        self.timeout = timeout

    @property
    def where(self) -> str:
        return f"smtp://{self.host}:{self.port}"


class RelayConnection:
    """One SMTP connection: write commands, read replies in order."""

    def __init__(self, config: RelayConfig) -> None:
        self.config = config
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.pipelining = False
        self.features: dict[bytes, bytes] = {}  # EHLO keyword → its parameters
        self.greeted = False  # the server answered the connection with 220
        # The reply timeout, kept by one timer per connection (_watch) instead of an
        # asyncio.timeout() per read: two of those per message were about a tenth of the
        # sending thread's CPU. While a read or a drain waits, _waiting_since holds when it
        # began; a wait longer than the timeout breaks the connection with TimeoutError.
        self._waiting_since: float | None = None  # time.monotonic(), as loop.time()
        self._watchdog: asyncio.TimerHandle | None = None
        self._buffer = bytearray()  # read from the server, not yet taken as replies

    async def open(self) -> None:
        """Connect, greet, log in. Raises ServerUnavailable when no server took the
        connection (refused, timed out, a greeting other than 220: a busy server says 421),
        TransportBroken when one did and then would not talk (STARTTLS, EHLO, login) or its
        certificate does not verify, a setting to fix rather than an outage to wait out."""
        config = self.config
        try:
            await asyncio.wait_for(self._open(), config.timeout)
            self._watch()
        except ssl.SSLError as error:
            self.abort()
            raise TransportBroken(f"{config.where}: {error!r}") from error
        except (TimeoutError, OSError, EOFError, ValueError) as error:
            self.abort()
            if not self.greeted:
                raise ServerUnavailable(f"{config.where}: {error!r}") from error
            raise TransportBroken(f"{config.where}: {error!r}") from error

    async def _open(self) -> None:
        config = self.config
        context = ssl.create_default_context() if (config.use_ssl or config.use_tls) else None
        self.reader, self.writer = await asyncio.open_connection(
            config.host, config.port, ssl=context if config.use_ssl else None, limit=2**20
        )
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            # Replies are small and each one is awaited: never let Nagle hold a write back.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code, text = await self.reply()
        if code != 220:
            raise OSError(f"greeting {code} {text}")
        self.greeted = True
        await self._hello()
        if config.use_tls:
            if b"STARTTLS" not in self.features:
                raise OSError("the server does not offer STARTTLS")
            code, text = await self.command(b"STARTTLS")
            if code != 220:
                raise OSError(f"STARTTLS {code} {text}")
            if self._buffer:
                # Sent before the handshake, so not protected by it: replies injected by
                # someone on the path would be read as the server's (as in CVE-2011-0411).
                raise OSError("the server sent more than its reply before STARTTLS")
            await self.writer.start_tls(context, server_hostname=config.host)
            await self._hello()
        if config.user:
            await self._login()

    async def _hello(self) -> None:
        name = socket.getfqdn().encode("ascii", "replace") or b"localhost"
        code, text = await self.command(b"EHLO " + name)
        if code == 250:
            self.features = {}
            for line in text.split("\n")[1:]:
                keyword, _, parameters = line.upper().encode("ascii", "replace").partition(b" ")
                self.features[keyword] = parameters
        else:
            code, text = await self.command(b"HELO " + name)
            if code != 250:
                raise OSError(f"HELO {code} {text}")
            self.features = {}
        self.pipelining = b"PIPELINING" in self.features

    async def _login(self) -> None:
        user, password = self.config.user.encode(), self.config.password.encode()
        mechanisms = self.features.get(b"AUTH")
        if mechanisms is None:
            raise OSError("the server does not offer AUTH")
        if b"PLAIN" in mechanisms.split():
            plain = base64.b64encode(b"\0" + user + b"\0" + password)
            code, text = await self.command(b"AUTH PLAIN " + plain)
        else:
            code, text = await self.command(b"AUTH LOGIN")
            if code == 334:
                code, text = await self.command(base64.b64encode(user))
            if code == 334:
                code, text = await self.command(base64.b64encode(password))
        if code != 235:
            raise OSError(f"AUTH {code} {text}")

    async def command(self, line: bytes) -> tuple[int, str]:
        self.write(line + _CRLF)
        return await self.reply()

    def write(self, data: bytes) -> None:
        self.writer.write(data)

    def write_parts(self, parts: list[bytes]) -> None:
        """One write of several pieces, without first copying a ~40 KB message into a
        larger one (Python 3.12's transports send them in one sendmsg, 3.11's join once)."""
        self.writer.writelines(parts)

    async def drain(self) -> None:
        """Wait while the server is not reading what was written (within the timeout)."""
        self._waiting_since = time.monotonic()
        try:
            await self.writer.drain()
        finally:
            self._waiting_since = None

    async def reply(self) -> tuple[int, str]:
        """The next reply: its code and its text (lines joined by newlines)."""
        self._waiting_since = time.monotonic()
        try:
            return await self._reply()
        finally:
            self._waiting_since = None

    async def replies(self, count: int) -> list[tuple[int, str]]:
        """The next `count` replies, within one timeout."""
        self._waiting_since = time.monotonic()
        try:
            return [await self._reply() for _ in range(count)]
        finally:
            self._waiting_since = None

    def _watch(self) -> None:
        """Every tenth of the timeout: break the connection if a wait has lasted longer than
        the timeout (so a wait ends between 1 and 1.1 timeouts after it began)."""
        if self.writer is None:
            return
        loop = asyncio.get_running_loop()
        since = self._waiting_since
        timeout = self.config.timeout
        if since is not None and time.monotonic() - since >= timeout:
            # The waiting read raises this; a waiting drain returns and the read after it
            # raises it (the stream keeps the exception).
            self.reader.set_exception(TimeoutError(f"no reply within {timeout} s"))
            self.abort()
            return
        self._watchdog = loop.call_later(max(timeout / 10, 0.01), self._watch)

    async def _reply(self) -> tuple[int, str]:
        # What was read is parsed here rather than by a readuntil() per line: the replies to
        # a pipelined message (its final 250 and the next one's MAIL, RCPT and DATA) mostly
        # come in one segment, and one read for all of them is a fraction of the CPU.
        while True:
            reply = self._reply_buffered()
            if reply is not None:
                return reply
            if len(self._buffer) > _REPLY_LIMIT:
                raise OSError(f"a reply longer than {_REPLY_LIMIT} bytes")
            chunk = await self.reader.read(_READ_SIZE)
            if not chunk:
                raise asyncio.IncompleteReadError(bytes(self._buffer), None)
            self._buffer += chunk

    def _reply_buffered(self) -> tuple[int, str] | None:
        """The first whole reply in the buffer, taken out of it; None while it is incomplete."""
        buffer = self._buffer
        start = 0
        lines = []
        while True:
            end = buffer.find(_CRLF, start)
            if end < 0:
                return None
            line = bytes(buffer[start:end])
            if len(line) < 3 or not line[:3].isdigit():
                raise OSError(f"not an SMTP reply: {line[:80]!r}")
            lines.append(line[4:].decode("utf-8", "replace"))
            start = end + 2
            if line[3:4] != b"-":
                del buffer[:start]
                return int(line[:3]), "\n".join(lines)

    def abort(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.writer is not None:
            self.writer.transport.abort()
            self.writer = None

    async def quit(self) -> None:
        """QUIT without waiting for the reply: every message is already accounted for, and
        the transport still flushes what was written before it closes."""
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.writer is None:
            return
        try:
            self.write(b"QUIT\r\n")
            self.writer.close()
        except (OSError, RuntimeError):
            self.abort()
        self.writer = None
