"""A loopback SMTP sink that accepts everything and only counts it.

It runs as its own process so that it never shares an interpreter (or a GIL) with what is
being measured. It speaks just enough SMTP for smtplib, Django's SMTP backend and a Celery
worker: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, advertising PIPELINING and 8BITMIME.
Message data is never stored or parsed: each chunk is scanned once for the end-of-data
marker and counted, so the sink costs far less CPU per message than any sender.

Counters are read and reset over SMTP itself with two extra verbs, so no second channel is
needed:

    XSTATS  → 250 {"messages": ..., "recipients": ..., "bytes": ..., "first": ..., "last": ...}
    XRESET  → 250 reset

`bytes` counts each message as it travelled on the wire between DATA and the final ".",
including the CRLF that ends its last line. `first` and `last` are wall-clock times
(time.time()) of the first and last message completed since the reset.

On SIGUSR1 (and on SIGTERM, before exiting) the counters are also written as JSON to
--stats-file when one is given.

For the soak (bench/soak.py) it can also misbehave the way real relays do, at random:
`--rcpt-451 0.005` answers that share of RCPTs with 451 (try again later), and
`--drop-every 2000` drops the connection in about one message in that many: half of the
drops while the message data is still arriving (the message is lost, the sender must retry),
half after the whole message arrived but before the 250 (the message is kept: the sender
cannot know, and its retry is a duplicate SMTP itself cannot avoid). With `--ledger-file` it
keeps every accepted message by recipient and Message-ID and writes the ledger there on
SIGUSR1, so the harness can check that each recipient got exactly one message.

With --relay-ms D every reply leaves D milliseconds after the command that caused it, as from
a relay D ms away; replies keep their order, and the replies to pipelined commands that came
in one read leave together (one round trip, as with a real relay).

Usage: python bench/sink.py [--host 127.0.0.1] [--port 0] [--stats-file PATH] [--relay-ms 0]
       [--rcpt-451 RATIO] [--drop-every N] [--seed N] [--ledger-file PATH]
The first line printed on stdout is the port it listens on.
"""

import argparse
import asyncio
import json
import os
import random
import re
import signal
import sys
import time

END_OF_DATA = b"\r\n.\r\n"
MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)
HEADER_LIMIT = 16384  # Message-ID is looked for in this much of the message's start


class Faults:
    """What the sink does wrong, at random (seeded, so a run can be repeated)."""

    def __init__(self) -> None:
        self.rcpt_451 = 0.0
        self.drop_ratio = 0.0
        self.random = random.Random(0)
        self.ledger: dict[tuple[str, str], int] | None = None


FAULTS = Faults()


class Counters:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.messages = 0
        self.recipients = 0
        self.bytes = 0
        self.connections = 0
        self.first: float | None = None
        self.last: float | None = None
        self.rcpt_451 = 0
        self.drops_in_data = 0
        self.drops_after_data = 0

    def as_dict(self) -> dict:
        return {
            "rcpt_451": self.rcpt_451,
            "drops_in_data": self.drops_in_data,
            "drops_after_data": self.drops_after_data,
            "messages": self.messages,
            "recipients": self.recipients,
            "bytes": self.bytes,
            "connections": self.connections,
            "first": self.first,
            "last": self.last,
        }


COUNTERS = Counters()
RELAY_SECONDS = 0.0  # set from --relay-ms


class SinkProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.in_data = False
        self.recipients = 0
        # While in DATA: the last few bytes seen (to find a marker split across reads) and
        # how many bytes of the message have arrived so far.
        self.tail = b""
        self.data_bytes = 0
        # Only with a ledger or faults: the addresses accepted and the message's first bytes.
        self.addresses: list[str] = []
        self.head = b""
        self.drop: str | None = None  # "in-data" or "after-data" for the message arriving
        self.closed = False
        # Replies held back to model the relay's distance: (due time, bytes), in order.
        self.delayed: list[tuple[float, bytes]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        COUNTERS.connections += 1
        self.reply(b"220 sink ESMTP\r\n")

    def reply(self, data: bytes) -> None:
        if not RELAY_SECONDS:
            self.transport.write(data)
            return
        loop = asyncio.get_running_loop()
        self.delayed.append((loop.time() + RELAY_SECONDS, data))
        loop.call_later(RELAY_SECONDS, self._flush)

    def _flush(self) -> None:
        # Every reply has the same delay, so they come due in the order they were made.
        now = asyncio.get_running_loop().time()
        ready = []
        while self.delayed and self.delayed[0][0] <= now + 1e-4:
            ready.append(self.delayed.pop(0)[1])
        if ready and not self.transport.is_closing():
            self.transport.write(b"".join(ready))

    def close_after_replies(self) -> None:
        if not RELAY_SECONDS or not self.delayed:
            self.transport.close()
            return
        asyncio.get_running_loop().call_later(RELAY_SECONDS + 0.001, self.transport.close)

    def data_received(self, chunk: bytes) -> None:
        # The replies to everything in one read go out in one write.
        self.pending_replies: list[bytes] = []
        while chunk and not self.closed:
            if self.in_data:
                chunk = self._data_chunk(chunk)
            else:
                chunk = self._command_chunk(chunk)
        if self.pending_replies and not self.closed:
            self.reply(b"".join(self.pending_replies))

    def _abort(self) -> None:
        self.closed = True
        self.transport.abort()

    def _data_chunk(self, chunk: bytes) -> bytes:
        """Count a piece of message data; return what follows the end-of-data marker."""
        if self.drop == "in-data":
            COUNTERS.drops_in_data += 1
            self._abort()
            return b""
        if FAULTS.ledger is not None and len(self.head) < HEADER_LIMIT:
            self.head += chunk[: HEADER_LIMIT - len(self.head)]
        scanned = self.tail + chunk
        index = scanned.find(END_OF_DATA)
        if index == -1:
            self.data_bytes += len(chunk)
            self.tail = scanned[-4:]
            return b""
        # Everything up to and including the CRLF before the "." belongs to the message.
        self.data_bytes += index + 2 - len(self.tail)
        rest = chunk[index + len(END_OF_DATA) - len(self.tail) :]
        now = time.time()
        COUNTERS.messages += 1
        COUNTERS.recipients += self.recipients
        COUNTERS.bytes += self.data_bytes
        if COUNTERS.first is None:
            COUNTERS.first = now
        COUNTERS.last = now
        self.in_data = False
        self.recipients = 0
        if FAULTS.ledger is not None:
            found = MESSAGE_ID.search(self.head)
            message_id = found.group(1).decode() if found else ""
            for address in self.addresses:
                key = (address, message_id)
                FAULTS.ledger[key] = FAULTS.ledger.get(key, 0) + 1
        self.addresses = []
        self.head = b""
        if self.drop == "after-data":
            # Kept, but the sender never hears so: it will send it again.
            COUNTERS.drops_after_data += 1
            self._abort()
            return b""
        self.pending_replies.append(b"250 2.0.0 queued\r\n")
        return rest

    def _command_chunk(self, chunk: bytes) -> bytes:
        """Answer every complete command line; return bytes that belong to message data."""
        self.buffer += chunk
        replies = []
        while not self.in_data:
            end = self.buffer.find(b"\r\n")
            if end == -1:
                break
            line, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
            reply = self._command(line)
            if reply is None:  # QUIT
                self.reply(b"".join(self.pending_replies) + b"".join(replies) + b"221 bye\r\n")
                self.pending_replies = []
                self.close_after_replies()
                self.buffer = b""
                return b""
            replies.append(reply)
        self.pending_replies.extend(replies)
        if self.in_data:
            rest, self.buffer = self.buffer, b""
            return rest
        return b""

    def _command(self, line: bytes) -> bytes | None:
        verb = line[:4].upper()
        if verb == b"MAIL":
            self.recipients = 0
            self.addresses = []
            return b"250 2.1.0 ok\r\n"
        if verb == b"RCPT":
            if FAULTS.rcpt_451 and FAULTS.random.random() < FAULTS.rcpt_451:
                COUNTERS.rcpt_451 += 1
                return b"451 4.3.0 try again later\r\n"
            self.recipients += 1
            if FAULTS.ledger is not None:
                start, end = line.find(b"<"), line.find(b">")
                self.addresses.append(line[start + 1 : end].decode().lower())
            return b"250 2.1.5 ok\r\n"
        if verb == b"DATA":
            if not self.recipients:
                return b"503 5.5.1 no recipients\r\n"
            self.drop = None
            if FAULTS.drop_ratio and FAULTS.random.random() < FAULTS.drop_ratio:
                self.drop = FAULTS.random.choice(("in-data", "after-data"))
            self.head = b""
            self.in_data = True
            # The CRLF that ended the DATA line counts as the start of the first line, so an
            # empty message (just ".") is recognised too.
            self.tail = b"\r\n"
            self.data_bytes = 0
            return b"354 go ahead\r\n"
        if verb == b"EHLO":
            return b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        if verb == b"HELO":
            return b"250 sink\r\n"
        if verb == b"RSET":
            self.recipients = 0
            self.addresses = []
            return b"250 2.0.0 ok\r\n"
        if verb == b"NOOP":
            return b"250 2.0.0 ok\r\n"
        if verb == b"QUIT":
            return None
        command = line.split(b" ", 1)[0].upper()
        if command == b"XSTATS":
            return b"250 " + json.dumps(COUNTERS.as_dict()).encode() + b"\r\n"
        if command == b"XRESET":
            COUNTERS.reset()
            return b"250 reset\r\n"
        return b"500 5.5.2 command not recognised\r\n"


def ledger_write(path: str | None) -> None:
    if path and FAULTS.ledger is not None:
        with open(path + ".tmp", "w") as handle:
            json.dump([[rcpt, mid, n] for (rcpt, mid), n in FAULTS.ledger.items()], handle)
        os.replace(path + ".tmp", path)


def stats_write(path: str | None, ledger_path: str | None = None) -> None:
    ledger_write(ledger_path)
    if path:
        with open(path + ".tmp", "w") as handle:
            json.dump(COUNTERS.as_dict(), handle)
        # Renamed into place so a reader never sees half a file.
        os.replace(path + ".tmp", path)


async def serve(
    host: str, port: int, stats_file: str | None, ledger_file: str | None = None
) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(SinkProtocol, host, port, backlog=512)
    print(server.sockets[0].getsockname()[1], flush=True)
    stopped = asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, stats_write, stats_file, ledger_file)
    loop.add_signal_handler(signal.SIGTERM, stopped.set)
    loop.add_signal_handler(signal.SIGINT, stopped.set)
    async with server:
        await stopped.wait()
    stats_write(stats_file, ledger_file)


class SinkProcess:
    """The sink as a child process of the harness, with its counters read over SMTP."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        stats_file: str | None = None,
        relay_ms: float = 0,
        extra: tuple = (),
    ) -> None:
        import subprocess

        self.host = host
        self.relay_ms = relay_ms
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--host", host, "--relay-ms", str(relay_ms)]
            + (["--stats-file", stats_file] if stats_file else [])
            + list(extra),
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = int(self.process.stdout.readline())

    def _command(self, verb: str) -> str:
        import smtplib

        with smtplib.SMTP(self.host, self.port, timeout=10) as connection:
            code, reply = connection.docmd(verb)
        if code != 250:
            raise RuntimeError(f"sink answered {code} {reply!r} to {verb}")
        return reply.decode()

    def stats(self) -> dict:
        stats = json.loads(self._command("XSTATS"))
        # The control connection itself is not traffic.
        stats["connections"] -= 1
        return stats

    def reset(self) -> None:
        self._command("XRESET")

    def cpu_seconds(self) -> float:
        """User + system CPU time the sink has used so far (to show whether it is the limit)."""
        import psutil

        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--stats-file", default=None)
    parser.add_argument(
        "--relay-ms", type=float, default=0.0, help="delay before each reply, in ms (0)"
    )
    parser.add_argument("--rcpt-451", type=float, default=0.0, help="share of RCPTs given 451")
    parser.add_argument(
        "--drop-every", type=int, default=0, help="drop the connection in ~1 message in N"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ledger-file", default=None)
    options = parser.parse_args(argv)
    global RELAY_SECONDS
    RELAY_SECONDS = options.relay_ms / 1000
    FAULTS.rcpt_451 = options.rcpt_451
    FAULTS.drop_ratio = 1 / options.drop_every if options.drop_every else 0.0
    FAULTS.random = random.Random(options.seed)
    if options.ledger_file:
        FAULTS.ledger = {}
    asyncio.run(serve(options.host, options.port, options.stats_file, options.ledger_file))
    sys.exit(0)


if __name__ == "__main__":
    main()
