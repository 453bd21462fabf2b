"""Reading SMTP replies over the pipeline's connections (worker/relay.py), against a real
server on loopback that sends its replies cut where the test says: several in one segment,
one split across segments, a line that never ends, a line that is not a reply, a reply the
connection loses half-way, and replies slipped in before a TLS handshake."""

import asyncio
import threading

import pytest

from worker.relay import _REPLY_LIMIT, RelayConfig, RelayConnection
from worker.transport import TransportBroken

GREETING = b"220 relay.example.se ESMTP\r\n"


def _run(main):
    """asyncio.run(main()) on a thread of its own: the test process may already run an event
    loop on this one (an earlier test's), and a worker's batch does the same (sending.py)."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = asyncio.run(main())
        except BaseException as error:  # re-raised in the test's own thread
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the conversation did not end within 60 s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _talk(server_script, client_script):
    """Run a scripted server (reader, writer after the greeting and EHLO) and a client
    (an open RelayConnection) against each other on a loopback port; the client's result."""

    async def main():
        async def handle(reader, writer):
            writer.write(GREETING)
            await reader.readline()  # EHLO
            writer.write(b"250-relay.example.se\r\n250-STARTTLS\r\n250 PIPELINING\r\n")
            await writer.drain()
            try:
                await server_script(reader, writer)
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        relay = RelayConnection(RelayConfig(f"smtp://127.0.0.1:{port}", timeout=5))
        try:
            await relay.open()
            return await client_script(relay)
        finally:
            relay.abort()
            server.close()
            await server.wait_closed()

    return _run(main)


def test_it_reads_several_replies_from_one_segment_and_one_reply_from_several():
    async def server(reader, writer):
        for _ in range(3):
            await reader.readline()
        # The first reply and half of the second's first line in one segment, the rest in
        # the next: the reader must neither lose nor merge anything.
        writer.write(b"250 2.1.0 Ok\r\n250-2.1.5 first li")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"ne\r\n250 2.1.5 second line\r\n354 End data with <CR><LF>.<CR><LF>\r\n")
        await writer.drain()
        await reader.read()

    async def client(relay):
        relay.write(b"MAIL FROM:<a@example.se>\r\nRCPT TO:<b@example.se>\r\nDATA\r\n")
        return await relay.replies(3)

    assert _talk(server, client) == [
        (250, "2.1.0 Ok"),
        (250, "2.1.5 first line\n2.1.5 second line"),
        (354, "End data with <CR><LF>.<CR><LF>"),
    ]


def test_it_refuses_a_reply_that_never_ends_instead_of_holding_it_all():
    async def server(reader, writer):
        await reader.readline()
        chunk = b"250-" + b"x" * 65_000
        for _ in range(_REPLY_LIMIT // len(chunk) + 2):
            writer.write(chunk)  # no line end, ever
            await writer.drain()
        await reader.read()

    async def client(relay):
        relay.write(b"NOOP\r\n")
        with pytest.raises(OSError, match="longer than"):
            await relay.reply()
        return len(relay._buffer)

    assert _talk(server, client) <= _REPLY_LIMIT + 2**16


def test_it_refuses_a_line_that_is_not_an_smtp_reply():
    async def server(reader, writer):
        await reader.readline()
        writer.write(b"HTTP/1.1 400 Bad Request\r\n")
        await writer.drain()
        await reader.read()

    async def client(relay):
        relay.write(b"NOOP\r\n")
        with pytest.raises(OSError, match="not an SMTP reply"):
            await relay.reply()
        return True

    assert _talk(server, client)


def test_a_connection_lost_in_the_middle_of_a_reply_is_an_incomplete_read():
    async def server(reader, writer):
        await reader.readline()
        writer.write(b"250-2.0.0 half of")  # and the connection closes

    async def client(relay):
        relay.write(b"NOOP\r\n")
        with pytest.raises(asyncio.IncompleteReadError) as lost:
            await relay.reply()
        return lost.value.partial

    assert _talk(server, client) == b"250-2.0.0 half of"


def test_it_refuses_replies_slipped_in_before_the_tls_handshake():
    """STARTTLS response injection (CVE-2011-0411): someone on the path appends a forged reply
    to the server's 220, so that it is read after the handshake as if it came through TLS.
    The connection must fail instead, before any mail goes out."""

    async def main():
        async def handle(reader, writer):
            writer.write(GREETING)
            await reader.readline()
            writer.write(b"250-relay.example.se\r\n250 STARTTLS\r\n")
            await reader.readline()  # STARTTLS
            writer.write(b"220 2.0.0 Ready to start TLS\r\n250 2.0.0 forged\r\n")
            await writer.drain()
            await reader.read()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        relay = RelayConnection(RelayConfig(f"smtp+tls://127.0.0.1:{port}", timeout=5))
        try:
            with pytest.raises(TransportBroken, match="more than its reply before STARTTLS"):
                await relay.open()
        finally:
            relay.abort()
            server.close()
            await server.wait_closed()
        return relay.config.use_tls

    assert _run(main) is True
