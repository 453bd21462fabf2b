"""The one door for HTTP requests the server makes on someone's behalf.

An editor's link (and later a webhook URL) is input from a person; fetched naively it lets that
person make the server talk to its own network: the admin on 127.0.0.1, the database host, a
cloud metadata service on 169.254.169.254, and read back which ports answer. Every outbound
request goes through `outbound_fetch`, which

- allows only http and https, at every redirect hop;
- resolves the host once per hop and refuses it if any address it resolves to is loopback,
  private, link-local, multicast, reserved, shared or unspecified (IPv4, IPv6, and IPv4 inside
  IPv6); a host written as an address in an odd notation (2130706433, 0x7f.1) is read as the
  address it means, as browsers and the system resolver read it;
- connects to exactly the address it checked (urllib3 connections opened on the IP, with the
  name only in the Host header, SNI and certificate check), so DNS cannot be rebound between
  the check and the connection;
- holds the whole call, redirects included, to one deadline: a watchdog shuts the socket down
  when it passes, so a server that drips one byte at a time cannot hold a worker;
- reads at most `max_bytes` of the body, undecoded (no decompression bombs).

The test suite's own loopback servers can be let through one port at a time with the setting
OUTBOUND_ALLOW_TEST_HOSTS, which `outbound_settings_check` refuses when DEBUG is off.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.client import HTTPException
from urllib.parse import quote, urljoin, urlsplit

import urllib3
from django.conf import settings
from django.core.checks import Error
from django.utils.translation import gettext_lazy as _
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# IPv6 prefixes that carry an IPv4 address a gateway may translate to (NAT64, RFC 6052/8215).
NAT64_PREFIXES = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
# Sent on redirect only to the origin they were meant for.
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
USER_AGENT = "lansnytt (Regionbibliotek Stockholm)"

MESSAGES = {
    "scheme": _("bara http- och https-adresser får hämtas (inte %(scheme)s)"),
    "host": _("adressen har inget giltigt värdnamn"),
    "internal": _("adressen leder till en intern adress (%(address)s) och får inte hämtas"),
    "redirects": _("för många omdirigeringar (fler än %(limit)d)"),
    "dns": _("värdnamnet %(host)s finns inte"),
    "deadline": _("inget svar inom %(seconds)s sekunder"),
    "connect": _("går inte att ansluta till servern"),
    "tls": _("den säkra anslutningen misslyckades (certifikat eller TLS)"),
    "protocol": _("servern svarade inte med giltig HTTP"),
}


class OutboundError(Exception):
    """A request that gave no answer; `code` (a key of MESSAGES) and `params` say why."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(f"{code}: {params}")

    @property
    def message(self) -> str:
        return outbound_error_message(code=self.code, params=self.params)


class OutboundRefused(OutboundError):
    """The guard would not send the request (scheme, internal address, redirects)."""


class OutboundFailed(OutboundError):
    """The request was allowed but got no usable answer (DNS, connection, TLS, deadline)."""


def outbound_error_message(*, code: str, params: dict) -> str:
    """The reader's sentence for an error code, in the active language (stored codes too)."""
    return str(MESSAGES[code]) % params


@dataclass(frozen=True)
class OutboundResponse:
    url: str  # after redirects
    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool  # the body was longer than max_bytes and was cut there
    redirects: tuple[str, ...] = ()


def outbound_fetch(
    url: str,
    *,
    method: str = "GET",
    deadline: float,
    max_bytes: int,
    headers: dict[str, str] | None = None,
    max_redirects: int = 5,
) -> OutboundResponse:
    """Fetch `url` through the guard within `deadline` seconds, redirects and all.

    Raises OutboundRefused before any connection for a URL (or a redirect to one) that must
    not be fetched, and OutboundFailed when it could not be fetched in time.
    """
    watchdog = _Watchdog(seconds=deadline)
    try:
        return _follow(
            url,
            method=method.upper(),
            headers=dict(headers or {}),
            watchdog=watchdog,
            max_bytes=max_bytes,
            max_redirects=max_redirects,
        )
    finally:
        watchdog.cancel()


def _follow(url, *, method, headers, watchdog, max_bytes, max_redirects) -> OutboundResponse:
    visited: list[str] = []
    while True:
        target = _target(url, watchdog=watchdog)
        response = _exchange(target, method=method, headers=headers, watchdog=watchdog)
        location = response.headers.get("Location")
        if response.status not in REDIRECT_STATUSES or not location:
            return _read(response, url=url, visited=visited, max_bytes=max_bytes, watchdog=watchdog)
        response.close()  # a redirect's body is not read; the socket goes with it
        if len(visited) >= max_redirects:
            raise OutboundRefused("redirects", limit=max_redirects)
        visited.append(url)
        try:
            following = urljoin(url, location)
        except ValueError:  # e.g. "http://[::1" from a server that wants to break parsers
            raise OutboundRefused("host") from None
        if _origin(following) != _origin(url):
            headers = {k: v for k, v in headers.items() if k.lower() not in CREDENTIAL_HEADERS}
        if response.status == 303 and method not in ("GET", "HEAD"):
            method = "GET"
        url = following


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # ASCII (IDNA) name or address literal, for Host, SNI and the certificate
    port: int
    addresses: tuple[IPAddress, ...]  # all checked; the connection goes to one of these
    path: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def _target(url: str, *, watchdog: _Watchdog) -> _Target:
    try:
        parts = urlsplit(url)
    except ValueError:
        raise OutboundRefused("host") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise OutboundRefused("scheme", scheme=scheme or "–")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        raise OutboundRefused("host") from None
    if not host:
        raise OutboundRefused("host")
    addresses = _resolve(host, port, watchdog=watchdog)
    for address in addresses:
        if address_is_internal(address) and not _allowed_for_tests(address, port):
            raise OutboundRefused("internal", address=str(address))
    # Percent-encode what a browser would (spaces, non-ASCII) and keep existing escapes.
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~-._")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=~-._?")
    return _Target(scheme=scheme, host=host, port=port, addresses=addresses, path=path)


def address_is_internal(address: IPAddress) -> bool:
    """True for every address an outside link has no business reaching from this server."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and address_is_internal(embedded):
            return True
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in prefix for prefix in NAT64_PREFIXES):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _address_literal(host: str) -> IPAddress | None:
    """The address a host written as an address means, in any notation the system's
    inet_aton reads (127.1, 2130706433, 0x7f.1, 0177.0.0.1), as browsers read them too."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    last_label = host.rstrip(".").rsplit(".", 1)[-1].lower()
    if not (last_label.isdigit() or last_label.startswith("0x")):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _resolve(host: str, port: int, *, watchdog: _Watchdog) -> tuple[IPAddress, ...]:
    """Every address `host` resolves to, within the deadline (getaddrinfo has no timeout)."""
    literal = _address_literal(host)
    if literal is not None:
        return (literal,)
    outcome: dict[str, object] = {}

    def lookup() -> None:
        try:
            outcome["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            outcome["error"] = error

    # A daemon thread per lookup: a resolver that hangs costs one idle thread until the system
    # resolver gives up, never the caller's deadline.
    thread = threading.Thread(target=lookup, name="outbound-dns", daemon=True)
    thread.start()
    thread.join(timeout=watchdog.remaining())
    if thread.is_alive():
        raise OutboundFailed("deadline", seconds=watchdog.shown)
    if "error" in outcome:
        raise OutboundFailed("dns", host=host)
    addresses = []
    for _family, _type, _proto, _name, sockaddr in outcome["infos"]:
        literal = sockaddr[0].split("%", 1)[0]  # drop an IPv6 zone ("fe80::1%eth0")
        address = ipaddress.ip_address(literal)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OutboundFailed("dns", host=host)
    return tuple(addresses)


def _allowed_for_tests(address: IPAddress, port: int) -> bool:
    # Loopback only, whatever the setting says: a misconfiguration can open a test port on
    # this machine, never the internal network.
    return address.is_loopback and (str(address), port) in _test_hosts()


def _test_hosts() -> set[tuple[str, int]]:
    allowed = set()
    for entry in getattr(settings, "OUTBOUND_ALLOW_TEST_HOSTS", []):
        parsed = _host_port(entry)
        if parsed is not None:
            allowed.add(parsed)
    return allowed


def _host_port(entry: str) -> tuple[str, int] | None:
    """("127.0.0.1", 8080) for "127.0.0.1:8080" or "[::1]:8080"; None if not loopback:port."""
    host, _, port = entry.strip().rpartition(":")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
        number = int(port)
    except ValueError:
        return None
    if not address.is_loopback or not 0 < number < 65536:
        return None
    return str(address), number


def outbound_settings_check(app_configs=None, **kwargs) -> list[Error]:
    """OUTBOUND_ALLOW_TEST_HOSTS opens holes in the guard: for the test suite, never production."""
    entries = list(getattr(settings, "OUTBOUND_ALLOW_TEST_HOSTS", []))
    errors = []
    if entries and not settings.DEBUG:
        errors.append(
            Error(
                "OUTBOUND_ALLOW_TEST_HOSTS is set and DEBUG is off.",
                hint="It lets outbound requests reach loopback ports and exists only for the "
                "test suite's own servers: unset it in production.",
                id="lansnytt.E001",
            )
        )
    bad = [entry for entry in entries if _host_port(entry) is None]
    if bad:
        errors.append(
            Error(
                f"OUTBOUND_ALLOW_TEST_HOSTS has entries that are not loopback host:port pairs: "
                f"{', '.join(bad)}.",
                hint='Use entries like "127.0.0.1:8080" or "[::1]:8080".',
                id="lansnytt.E002",
            )
        )
    return errors


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme.lower(), (parts.hostname or ""), port


@dataclass
class _Watchdog:
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


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    watchdog: _Watchdog

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.watchdog.watch(sock)
        return sock


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    watchdog: _Watchdog

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.watchdog.watch(sock)
        return sock


def _exchange(target: _Target, *, method: str, headers: dict[str, str], watchdog: _Watchdog):
    """Send one request to the checked address and return the urllib3 response (body unread)."""
    last_error: OutboundFailed | None = None
    for address in target.addresses:
        connection = _connection(target, address=address, watchdog=watchdog)
        try:
            connection.request(
                method,
                target.path,
                headers=_request_headers(target, headers),
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


def _connection(target: _Target, *, address: IPAddress, watchdog: _Watchdog):
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


def _request_headers(target: _Target, headers: dict[str, str]) -> dict[str, str]:
    return {
        "User-Agent": USER_AGENT,
        **headers,
        "Host": target.host_header,
        "Accept-Encoding": "identity",
        "Connection": "close",
    }


def _read(response, *, url: str, visited: list[str], max_bytes: int, watchdog: _Watchdog):
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
    return OutboundResponse(
        url=url,
        status=response.status,
        headers=dict(response.headers.items()),
        body=bytes(body[:max_bytes]),
        truncated=len(body) > max_bytes,
        redirects=tuple(visited),
    )


def _failure(error: Exception, *, watchdog: _Watchdog) -> OutboundFailed:
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
