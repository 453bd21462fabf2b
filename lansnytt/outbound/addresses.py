"""Which addresses an outbound request may reach, and what a host resolves to.

Internal means anything an outside link has no business reaching from this server: loopback,
private, link-local, multicast, reserved, shared (100.64/10), documentation and unspecified
addresses, IPv4 and IPv6, and IPv4 carried inside IPv6 (mapped, 6to4, Teredo, NAT64).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Protocol

from django.conf import settings
from django.core.checks import Error

from .errors import OutboundFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 prefixes that carry an IPv4 address a gateway may translate to (NAT64, RFC 6052/8215).
NAT64_PREFIXES = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


class Deadline(Protocol):
    """What a lookup needs of the fetch's deadline (connection.Watchdog)."""

    seconds: float

    @property
    def shown(self) -> str: ...

    def remaining(self) -> float: ...


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


def host_resolve(host: str, port: int, *, deadline: Deadline) -> tuple[IPAddress, ...]:
    """Every address `host` means, within the deadline (getaddrinfo has no timeout of its own).

    Called once per hop: the connection goes to one of these, never to a second lookup."""
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
    thread.join(timeout=deadline.remaining())
    if thread.is_alive():
        raise OutboundFailed("deadline", seconds=deadline.shown)
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


def allowed_for_tests(address: IPAddress, port: int) -> bool:
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
    """OUTBOUND_ALLOW_TEST_HOSTS opens holes in the guard: for the test suite, never production.

    The test suite's own loopback servers stand in for public ones, one port at a time."""
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
