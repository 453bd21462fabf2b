"""One request to one checked address, within the fetch's deadline.

urllib3 connections are opened on the address the guard checked; the host name goes only into
the Host header, SNI and the certificate check. A watchdog holds the whole fetch to its
deadline by shutting its sockets down, which ends a blocked connect, TLS handshake or read at
once (per-read timeouts alone let a server that drips a byte at a time hold a worker forever).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.client import HTTPException

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError, ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from .addresses import IPAddress
from .errors import OutboundFailed

DEFAULT_PORTS = {"http": 80, "https": 443}
USER_AGENT = "lansnytt (Regionbibliotek Stockholm)"


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # ASCII (IDNA) name or address literal, for Host, SNI and the certificate
    port: int
    addresses: tuple[IPAddress, ...]  # all checked; the connection goes to one of these
    path: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@dataclass
class Watchdog:
    """One deadline for a whole fetch: when it passes, every socket of the fetch is shut down,
    which ends a blocked connect, TLS handshake or read at once."""

    seconds: float
    fired: bool = False
    _sockets: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._ends_at = time.monotonic() + self.seconds
        self._timer = threading.Timer(self.seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    @property
    def shown(self) -> str:
        """The deadline as the reader is told it: "5", "2.5"."""
        return f"{round(self.seconds, 1):g}"

    def remaining(self) -> float:
        remaining = self._ends_at - time.monotonic()
        if remaining <= 0:
            raise OutboundFailed("deadline", seconds=self.shown)
        return remaining

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.fired:
                _shutdown(sock)

    def cancel(self) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


# urllib3 creates the TCP socket in _new_conn (before any TLS), so overriding it is how the
# watchdog gets the socket from its first byte; the host given is the checked IP literal, so
# urllib3's own lookup in there is numeric and cannot be rebound.
class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    watchdog: Watchdog

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.watchdog.watch(sock)
        return sock


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    watchdog: Watchdog

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.watchdog.watch(sock)
        return sock


def exchange(
    target: Target,
    *,
    method: str,
    headers: dict[str, str],
    watchdog: Watchdog,
    body: bytes | None = None,
):
    """Send one request to a checked address of the target (the next one if a connection is
    refused) and return the urllib3 response with its body unread."""
    last_error: OutboundFailed | None = None
    for address in target.addresses:
        connection = _connection(target, address=address, watchdog=watchdog)
        try:
            connection.request(
                method,
                target.path,
                headers=_request_headers(target, headers),
                body=body,
                preload_content=False,
                decode_content=False,
            )
            return connection.getresponse()
        except Exception as error:
            connection.close()
            last_error = _failure(error, watchdog=watchdog)
            if last_error.code != "connect":
                raise last_error from error
    assert last_error is not None
    raise last_error


def _connection(target: Target, *, address: IPAddress, watchdog: Watchdog):
    timeout = watchdog.remaining()
    if target.scheme == "https":
        connection = _WatchedHTTPSConnection(
            str(address),
            target.port,
            timeout=timeout,
            server_hostname=target.host,
            cert_reqs=ssl.CERT_REQUIRED,
        )
    else:
        connection = _WatchedHTTPConnection(str(address), target.port, timeout=timeout)
    connection.watchdog = watchdog
    return connection


def _request_headers(target: Target, headers: dict[str, str]) -> dict[str, str]:
    return {
        "User-Agent": USER_AGENT,
        **headers,
        "Host": target.host_header,
        "Accept-Encoding": "identity",
        "Connection": "close",
    }


def body_read(response, *, max_bytes: int, watchdog: Watchdog) -> tuple[bytes, bool]:
    """(at most max_bytes of the body as sent, whether there was more); closes the response."""
    body = bytearray()
    try:
        while len(body) <= max_bytes:
            chunk = response.read(min(65536, max_bytes + 1 - len(body)))
            if not chunk:
                break
            body += chunk
    except Exception as error:
        raise _failure(error, watchdog=watchdog) from error
    finally:
        response.close()
    if watchdog.fired:  # the shutdown socket looks like the end of the body
        raise OutboundFailed("deadline", seconds=watchdog.shown)
    return bytes(body[:max_bytes]), len(body) > max_bytes


def _failure(error: Exception, *, watchdog: Watchdog) -> OutboundFailed:
    if isinstance(error, OutboundFailed):
        return error
    if watchdog.fired:
        return OutboundFailed("deadline", seconds=watchdog.shown)
    # urllib3 derives NewConnectionError (refused, unreachable) from its timeout error.
    if isinstance(error, NewConnectionError):
        return OutboundFailed("connect")
    if isinstance(error, TimeoutError | Urllib3Timeout):
        return OutboundFailed("deadline", seconds=watchdog.shown)
    if isinstance(error, ssl.SSLError | ssl.CertificateError) or "SSL" in type(error).__name__:
        return OutboundFailed("tls")
    if isinstance(error, HTTPException | ProtocolError):
        return OutboundFailed("protocol")
    if isinstance(error, OSError | Urllib3Error):
        return OutboundFailed("connect")
    raise error
