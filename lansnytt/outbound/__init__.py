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

Here: following the URL hop by hop. addresses.py: what may be reached and what a host resolves
to; connection.py: one request to one checked address under the watchdog; errors.py: codes and
their sentences.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from .addresses import address_is_internal, allowed_for_tests, host_resolve, outbound_settings_check
from .connection import DEFAULT_PORTS, Target, Watchdog, body_read, exchange
from .errors import (
    OutboundError,
    OutboundFailed,
    OutboundRefused,
    outbound_error_message,
)

__all__ = [
    "OutboundError",
    "OutboundFailed",
    "OutboundRefused",
    "OutboundResponse",
    "address_is_internal",
    "outbound_error_message",
    "outbound_fetch",
    "outbound_settings_check",
]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Sent on redirect only to the origin they were meant for.
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


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
    body: bytes | None = None,
) -> OutboundResponse:
    """Fetch `url` through the guard within `deadline` seconds, redirects and all.

    Raises OutboundRefused before any connection for a URL (or a redirect to one) that must
    not be fetched, and OutboundFailed when it could not be fetched in time. A `body` (a
    webhook's payload) is sent with the first request only: a redirect is not followed with
    it, so callers that send one pass max_redirects=0 and treat a redirect as a refusal.
    """
    watchdog = Watchdog(seconds=deadline)
    try:
        return _follow(
            url,
            method=method.upper(),
            headers=dict(headers or {}),
            watchdog=watchdog,
            max_bytes=max_bytes,
            max_redirects=max_redirects,
            body=body,
        )
    finally:
        watchdog.cancel()


def _follow(
    url, *, method, headers, watchdog, max_bytes, max_redirects, body=None
) -> OutboundResponse:
    visited: list[str] = []
    while True:
        target = _target(url, watchdog=watchdog)
        response = exchange(target, method=method, headers=headers, watchdog=watchdog, body=body)
        body = None
        location = response.headers.get("Location")
        if response.status not in REDIRECT_STATUSES or not location:
            body, truncated = body_read(response, max_bytes=max_bytes, watchdog=watchdog)
            return OutboundResponse(
                url=url,
                status=response.status,
                headers=dict(response.headers.items()),
                body=body,
                truncated=truncated,
                redirects=tuple(visited),
            )
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


def _target(url: str, *, watchdog: Watchdog) -> Target:
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
    addresses = host_resolve(host, port, deadline=watchdog)
    for address in addresses:
        if address_is_internal(address) and not allowed_for_tests(address, port):
            raise OutboundRefused("internal", address=str(address))
    # Percent-encode what a browser would (spaces, non-ASCII) and keep existing escapes.
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~-._")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=~-._?")
    return Target(scheme=scheme, host=host, port=port, addresses=addresses, path=path)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme.lower(), (parts.hostname or ""), port
