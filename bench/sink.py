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

Usage: python bench/sink.py [--host 127.0.0.1] [--port 0] [--stats-file PATH]
The first line printed on stdout is the port it listens on.
"""

import argparse
import asyncio
import json
import os
import signal
import sys
import time

END_OF_DATA = b"\r\n.\r\n"


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

    def as_dict(self) -> dict:
        return {
            "messages": self.messages,
            "recipients": self.recipients,
            "bytes": self.bytes,
            "connections": self.connections,
            "first": self.first,
            "last": self.last,
        }


COUNTERS = Counters()


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

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        COUNTERS.connections += 1
        self.transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, chunk: bytes) -> None:
        while chunk:
            if self.in_data:
                chunk = self._data_chunk(chunk)
            else:
                chunk = self._command_chunk(chunk)

    def _data_chunk(self, chunk: bytes) -> bytes:
        """Count a piece of message data; return what follows the end-of-data marker."""
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
        self.transport.write(b"250 2.0.0 queued\r\n")
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
                self.transport.write(b"".join(replies) + b"221 2.0.0 bye\r\n")
                self.transport.close()
                self.buffer = b""
                return b""
            replies.append(reply)
        if replies:
            self.transport.write(b"".join(replies))
        if self.in_data:
            rest, self.buffer = self.buffer, b""
            return rest
        return b""

    def _command(self, line: bytes) -> bytes | None:
        verb = line[:4].upper()
        if verb == b"MAIL":
            self.recipients = 0
            return b"250 2.1.0 ok\r\n"
        if verb == b"RCPT":
            self.recipients += 1
            return b"250 2.1.5 ok\r\n"
        if verb == b"DATA":
            if not self.recipients:
                return b"503 5.5.1 no recipients\r\n"
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


def stats_write(path: str | None) -> None:
    if path:
        with open(path + ".tmp", "w") as handle:
            json.dump(COUNTERS.as_dict(), handle)
        # Renamed into place so a reader never sees half a file.
        os.replace(path + ".tmp", path)


async def serve(host: str, port: int, stats_file: str | None) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(SinkProtocol, host, port, backlog=512)
    print(server.sockets[0].getsockname()[1], flush=True)
    stopped = asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, stats_write, stats_file)
    loop.add_signal_handler(signal.SIGTERM, stopped.set)
    loop.add_signal_handler(signal.SIGINT, stopped.set)
    async with server:
        await stopped.wait()
    stats_write(stats_file)


class SinkProcess:
    """The sink as a child process of the harness, with its counters read over SMTP."""

    def __init__(self, *, host: str = "127.0.0.1", stats_file: str | None = None) -> None:
        import subprocess

        self.host = host
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--host", host]
            + (["--stats-file", stats_file] if stats_file else []),
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
    options = parser.parse_args(argv)
    asyncio.run(serve(options.host, options.port, options.stats_file))
    sys.exit(0)


if __name__ == "__main__":
    main()
