"""The outbound guard (lansnytt.outbound): what an attacker would point the server at is
refused before any connection, at every redirect hop, within a deadline and a size cap.

The refusal tests run with the settings a user gets (no test hosts allowed). Tests of the
public path let exactly one loopback server through with OUTBOUND_ALLOW_TEST_HOSTS, the
stand-in for a server on the internet.
"""

import ipaddress
import socket
import time

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from lansnytt.outbound import (
    OutboundFailed,
    OutboundRefused,
    address_is_internal,
    outbound_fetch,
)
from tests.webservers import answer, drip, endless_body, redirect, stall

DEADLINE = 5
CAP = 65536


@pytest.fixture
def server(http_servers):
    return http_servers()


@pytest.fixture
def public(server, settings):
    """The loopback server, let through as if it were on the internet."""
    settings.OUTBOUND_ALLOW_TEST_HOSTS = [server.address]
    return server


def fetch(url, **options):
    return outbound_fetch(
        url, method=options.pop("method", "GET"), deadline=DEADLINE, max_bytes=CAP, **options
    )


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "127.1",
        "2130706433",
        "0x7f.1",
        "0177.0.0.1",
        "0x7f000001",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::1]",
        "0.0.0.0",
        "[::]",
        "LOCALHOST",
        "public.example@127.0.0.1",  # userinfo in front of the real host
        "[0:0:0:0:0:ffff:7f00:1]",
    ],
)
def test_it_refuses_this_machine_in_any_notation_without_connecting(server, settings, host):
    assert settings.OUTBOUND_ALLOW_TEST_HOSTS == []

    with pytest.raises(OutboundRefused) as refusal:
        fetch(f"http://{host}:{server.port}/hemligt")

    assert refusal.value.code == "internal"
    assert "intern adress" in refusal.value.message
    assert server.connections == 0 and server.requests == []


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # shared address space (carrier NAT)
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "198.18.0.1",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2001:db8::1",
    ],
)
def test_it_counts_private_link_local_multicast_reserved_and_embedded_ipv4_as_internal(
    address,
):
    assert address_is_internal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "2a00:1450:4001:82b::200e", "1.1.1.1"])
def test_it_counts_public_addresses_as_public(address):
    assert not address_is_internal(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[::ffff:169.254.169.254]/",
        "https://192.168.0.1/admin",
        "http://[fe80::1%25eth0]/",  # with a zone
        "HTTP://10.0.0.1/",
    ],
)
def test_it_refuses_internal_networks_at_once(url):
    started = time.monotonic()

    with pytest.raises(OutboundRefused) as refusal:
        fetch(url)

    assert refusal.value.code == "internal"
    assert time.monotonic() - started < 1  # refused, not tried and timed out


@pytest.mark.parametrize(
    "url", ["ftp://example.org/fil.txt", "file:///etc/passwd", "gopher://example.org/", "x"]
)
def test_it_refuses_every_scheme_but_http_and_https(url):
    with pytest.raises(OutboundRefused) as refusal:
        fetch(url)

    assert refusal.value.code == "scheme"


def test_it_allows_a_test_host_only_on_its_own_port(public, http_servers):
    other = http_servers()

    assert fetch(public.url("/")).status == 200
    with pytest.raises(OutboundRefused):
        fetch(other.url("/"))

    assert other.connections == 0
    assert len(public.requests) == 1


def test_it_sends_the_name_in_the_host_header_and_connects_to_the_checked_address(public):
    public.route("/sida", answer(200, b"hej"))

    response = fetch(public.url("/sida?a=1"))

    assert (response.status, response.body, response.truncated) == (200, b"hej", False)
    seen = public.requests[0]
    assert seen.path == "/sida?a=1"
    assert seen.headers["Host"] == public.address
    assert seen.headers["Accept-Encoding"] == "identity"


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/admin/",
        "//127.0.0.1:{port}/admin/",  # scheme-relative
        "http://localhost:{port}/admin/",
        "http://[::ffff:127.0.0.1]:{port}/admin/",
    ],
)
def test_it_refuses_a_redirect_to_this_machine_at_the_hop(public, http_servers, location):
    inside = http_servers()
    public.route("/flytt", redirect(location.format(port=inside.port)))

    with pytest.raises(OutboundRefused) as refusal:
        fetch(public.url("/flytt"))

    assert refusal.value.code == "internal"
    assert [seen.path for seen in public.requests] == ["/flytt"]
    assert inside.connections == 0


def test_it_refuses_a_redirect_to_an_odd_notation_of_this_machine(public, http_servers):
    inside = http_servers()
    public.route("/flytt", redirect(f"http://2130706433:{inside.port}/", status=307))

    with pytest.raises(OutboundRefused):
        fetch(public.url("/flytt"), method="HEAD")

    assert inside.connections == 0


def test_it_refuses_a_redirect_to_ftp(public):
    public.route("/flytt", redirect("ftp://example.org/fil.txt", status=301))

    with pytest.raises(OutboundRefused) as refusal:
        fetch(public.url("/flytt"))

    assert refusal.value.code == "scheme"


def test_it_refuses_a_redirect_it_cannot_parse(public):
    public.route("/flytt", redirect("http://[::1"))

    with pytest.raises(OutboundRefused) as refusal:
        fetch(public.url("/flytt"))

    assert refusal.value.code == "host"


def test_it_follows_a_few_redirects_and_refuses_a_loop(public):
    public.route("/a", redirect("/b"))
    public.route("/b", redirect(public.url("/")))
    public.route("/slinga", redirect("/slinga"))

    response = fetch(public.url("/a"))
    assert response.status == 200
    assert response.redirects == (public.url("/a"), public.url("/b"))

    with pytest.raises(OutboundRefused) as refusal:
        fetch(public.url("/slinga"))
    assert refusal.value.code == "redirects"
    assert len([seen for seen in public.requests if seen.path == "/slinga"]) == 6


def test_it_keeps_credentials_from_another_origin_on_redirect(public, http_servers, settings):
    other = http_servers()
    settings.OUTBOUND_ALLOW_TEST_HOSTS = [public.address, other.address]
    public.route("/flytt", redirect(other.url("/")))

    fetch(public.url("/flytt"), headers={"Authorization": "Bearer hemlig", "X-Id": "1"})

    assert public.requests[0].headers["Authorization"] == "Bearer hemlig"
    assert "Authorization" not in other.requests[0].headers
    assert other.requests[0].headers["X-Id"] == "1"


@pytest.mark.parametrize("behaviour", [stall(), drip(interval=0.5)], ids=["silent", "dripping"])
def test_it_cuts_a_slow_server_off_at_the_deadline(public, behaviour):
    public.route("/trog", behaviour)
    started = time.monotonic()

    with pytest.raises(OutboundFailed) as failure:
        outbound_fetch(public.url("/trog"), method="GET", deadline=2, max_bytes=CAP)

    elapsed = time.monotonic() - started
    assert failure.value.code == "deadline"
    assert "inget svar inom 2 sekunder" in failure.value.message
    assert 1.9 < elapsed < 3


def test_it_holds_redirects_and_all_to_one_deadline(public):
    public.route("/a", redirect("/trog"))
    public.route("/trog", drip(interval=0.3))
    started = time.monotonic()

    with pytest.raises(OutboundFailed):
        outbound_fetch(public.url("/a"), method="HEAD", deadline=1.5, max_bytes=0)

    assert time.monotonic() - started < 2.5


def test_it_cuts_a_huge_body_at_the_cap(public):
    public.route("/stor", endless_body())
    started = time.monotonic()

    response = fetch(public.url("/stor"))

    assert response.status == 200
    assert len(response.body) == CAP and response.truncated
    assert time.monotonic() - started < 2


def test_it_does_not_unpack_a_compressed_body(public):
    import gzip

    bomb = gzip.compress(b"0" * 20_000_000)
    public.route("/bomb", answer(200, bomb, {"Content-Encoding": "gzip"}))

    response = fetch(public.url("/bomb"))

    assert response.body == bomb[:CAP]


def test_it_reports_a_refused_connection_and_an_unknown_name(public, settings):
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        closed_port = placeholder.getsockname()[1]
    settings.OUTBOUND_ALLOW_TEST_HOSTS = [f"127.0.0.1:{closed_port}"]

    with pytest.raises(OutboundFailed) as failure:
        fetch(f"http://127.0.0.1:{closed_port}/")
    assert failure.value.code == "connect"

    with pytest.raises(OutboundFailed) as failure:
        fetch("http://finns-inte.invalid/")
    assert failure.value.code == "dns"


def test_it_checks_the_certificate_for_the_name_on_the_pinned_connection(
    http_servers, localhost_certificate, settings, monkeypatch
):
    server = http_servers(tls=localhost_certificate.server_context())
    settings.OUTBOUND_ALLOW_TEST_HOSTS = [server.address, f"[::1]:{server.port}"]
    monkeypatch.setenv("SSL_CERT_FILE", localhost_certificate.cert)

    response = fetch(f"https://localhost:{server.port}/")

    assert response.status == 200
    assert server.requests[0].headers["Host"] == f"localhost:{server.port}"
    with pytest.raises(OutboundFailed) as failure:  # the certificate is not for 127.0.0.1
        fetch(f"https://127.0.0.1:{server.port}/")
    assert failure.value.code == "tls"


def test_it_refuses_a_certificate_nobody_vouches_for(http_servers, localhost_certificate, settings):
    server = http_servers(tls=localhost_certificate.server_context())
    settings.OUTBOUND_ALLOW_TEST_HOSTS = [server.address, f"[::1]:{server.port}"]

    with pytest.raises(OutboundFailed) as failure:
        fetch(f"https://localhost:{server.port}/")

    assert failure.value.code == "tls"
    assert server.requests == []


def test_it_does_not_look_the_name_up_again_after_the_check(http_servers, settings, monkeypatch):
    """A rebinding name answers the check with the allowed server and the second lookup with
    another address: the request must still go to the address that was checked."""
    checked = http_servers("127.0.0.1")
    try:
        rebound = http_servers("127.0.0.2", checked.port)
    except OSError:
        pytest.skip("127.0.0.2 is not available on this machine's loopback")
    settings.OUTBOUND_ALLOW_TEST_HOSTS = [checked.address]
    real_getaddrinfo = socket.getaddrinfo
    lookups = []

    def rebinding_dns(host, *args, **kwargs):
        if host == "rebind.example":
            lookups.append(host)
            host = "127.0.0.1" if len(lookups) == 1 else "127.0.0.2"
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)

    response = fetch(f"http://rebind.example:{checked.port}/")

    assert response.status == 200
    assert lookups == ["rebind.example"]
    assert checked.requests[0].headers["Host"] == f"rebind.example:{checked.port}"
    assert rebound.connections == 0


def test_it_refuses_a_name_with_any_internal_address(http_servers, settings, monkeypatch):
    server = http_servers()
    settings.OUTBOUND_ALLOW_TEST_HOSTS = [server.address]
    real_getaddrinfo = socket.getaddrinfo

    def split_dns(host, port, *args, **kwargs):
        if host == "delad.example":
            return real_getaddrinfo("127.0.0.1", port, *args, **kwargs) + [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))
            ]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", split_dns)

    with pytest.raises(OutboundRefused) as refusal:
        fetch(f"http://delad.example:{server.port}/")

    assert refusal.value.params == {"address": "10.0.0.7"}
    assert server.connections == 0


def test_the_system_check_refuses_test_hosts_when_debug_is_off(settings):
    settings.DEBUG = False
    settings.OUTBOUND_ALLOW_TEST_HOSTS = ["127.0.0.1:8080"]

    with pytest.raises(SystemCheckError, match="lansnytt.E001"):
        call_command("check", tags=["security"])


def test_the_system_check_refuses_test_hosts_that_are_not_loopback(settings):
    settings.DEBUG = True
    settings.OUTBOUND_ALLOW_TEST_HOSTS = ["10.0.0.5:80", "[::1]:9090", "localhost:9091"]

    with pytest.raises(SystemCheckError, match="lansnytt.E002") as error:
        call_command("check", tags=["security"])

    report = str(error.value)
    assert "10.0.0.5:80, localhost:9091." in report and "9090" not in report


def test_the_guard_ignores_a_test_host_that_is_not_loopback(settings):
    settings.OUTBOUND_ALLOW_TEST_HOSTS = ["10.0.0.5:80"]

    with pytest.raises(OutboundRefused):
        fetch("http://10.0.0.5/")


def test_the_system_check_passes_with_the_defaults(settings):
    settings.DEBUG = True
    settings.OUTBOUND_ALLOW_TEST_HOSTS = []

    call_command("check", tags=["security"])
