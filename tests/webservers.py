"""Real HTTP servers on loopback that record every connection and request they get.

A test gives each path a behaviour (answer, redirect, stall, drip, endless body) and afterwards
asserts what reached the server, including that nothing did.
"""

from __future__ import annotations

import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""  # what a POST carried (a webhook's payload)


Behaviour = Callable[[BaseHTTPRequestHandler], None]


class LoopbackHTTPServer:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.host = host
        self.scheme = "https" if tls else "http"
        self.connections = 0
        self.requests: list[Seen] = []
        self.routes: dict[str, Behaviour] = {"/": answer(200, b"ok")}
        self.stopping = threading.Event()
        self._server = _Server((host, port), _handler_for(self))
        self._server.owner = self
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/", *, host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def route(self, path: str, behaviour: Behaviour) -> None:
        self.routes[path] = behaviour

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: LoopbackHTTPServer

    def verify_request(self, request, client_address) -> bool:
        self.owner.connections += 1  # every accepted TCP connection, request or not
        return True


def _handler_for(server: LoopbackHTTPServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args) -> None:  # noqa: A002 (quiet test output)
            pass

        def _serve(self) -> None:
            path = self.path.split("?", 1)[0]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 1_000_000)) if self.command == "POST" else b""
            server.requests.append(Seen(self.command, self.path, dict(self.headers.items()), body))
            behaviour = server.routes.get(path, answer(404, b"saknas"))
            try:
                behaviour(self)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up, as the guard does at its deadline or size cap

        do_GET = do_HEAD = do_POST = _serve
        handler_server = server

    return Handler


def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Behaviour:
    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    return behave


def redirect(location: str, status: int = 302) -> Behaviour:
    return answer(status, headers={"Location": location})


def by_method(**behaviours: Behaviour) -> Behaviour:
    """A different behaviour per method, e.g. by_method(HEAD=answer(405), GET=answer(200))."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        behaviours[handler.command](handler)

    return behave


def stall(seconds: float = 60) -> Behaviour:
    """Accept the request and say nothing (until the test ends)."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.handler_server.stopping.wait(seconds)

    return behave


def drip(interval: float = 0.5, *, seconds: float = 60) -> Behaviour:
    """Answer one byte of headers at a time, each well within any per-read timeout."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        ends = time.monotonic() + seconds
        handler.wfile.write(b"HTTP/1.0 200 OK\r\n")
        while time.monotonic() < ends and not handler.handler_server.stopping.is_set():
            handler.wfile.write(b"X")
            handler.wfile.flush()
            time.sleep(interval)

    return behave


def endless_body(chunk: bytes = b"x" * 65536) -> Behaviour:
    """200 with a body that never ends (until the client goes away); counts what it sent."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.end_headers()
        while not handler.handler_server.stopping.is_set():
            handler.wfile.write(chunk)

    return behave


@pytest.fixture
def http_servers():
    """Starts loopback HTTP servers on free ports: http_servers() or http_servers("127.0.0.2")."""
    started: list[LoopbackHTTPServer] = []

    def start(host: str = "127.0.0.1", port: int = 0, *, tls=None) -> LoopbackHTTPServer:
        server = LoopbackHTTPServer(host, port, tls=tls)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@dataclass(frozen=True)
class Certificate:
    cert: str  # PEM file, self-signed: trusting it is trusting the server
    key: str

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture
def localhost_certificate(tmp_path) -> Certificate:
    """A self-signed certificate for the name "localhost", made by Debian's openssl."""
    cert, key = tmp_path / "localhost.pem", tmp_path / "localhost-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Certificate(cert=str(cert), key=str(key))
