"""The SMTP transport on its own: pipelined and plain transactions against a real server."""

import pytest

from worker.transport import DeliveryRefused, ServerUnavailable, SmtpTransport, TransportBroken

MESSAGE = (
    b"To: karin.lind@example.se\r\nFrom: lansnytt@example.org\r\nSubject: Test\r\n\r\n"
    b"Hej!\r\n.en rad som b\xc3\xb6rjar med punkt\r\n..och en med tv\xc3\xa5\r\n.\r\nslut\r\n"
)


@pytest.fixture(params=[True, False], ids=["pipelined", "plain"])
def transport(request, smtp_server):
    transport = SmtpTransport(smtp_server.url, timeout=10)
    transport.open()
    if not request.param:
        # A server that does not offer PIPELINING gets one command at a time.
        transport.connection.esmtp_features.pop("pipelining", None)
    assert transport._pipelining is request.param
    yield transport
    transport.close()


def test_it_delivers_lines_starting_with_a_dot_unchanged(transport, smtp_server):
    reply = transport.send("lansnytt@example.org", "karin.lind@example.se", MESSAGE)

    assert reply.startswith("250 OK queued as")
    [(address, content)] = smtp_server.received
    assert address == "karin.lind@example.se"
    assert content.replace(b"\r\n", b"\n") == MESSAGE.replace(b"\r\n", b"\n")


def test_it_keeps_the_connection_usable_after_a_refused_recipient(transport, smtp_server):
    smtp_server.fail_always["okand@example.se"] = "550 5.1.1 User unknown"
    smtp_server.fail_once["full@example.se"] = "452 4.2.2 Mailbox full"

    with pytest.raises(DeliveryRefused) as permanent:
        transport.send("lansnytt@example.org", "okand@example.se", MESSAGE)
    with pytest.raises(DeliveryRefused) as transient:
        transport.send("lansnytt@example.org", "full@example.se", MESSAGE)
    transport.send("lansnytt@example.org", "full@example.se", MESSAGE)
    transport.send("lansnytt@example.org", "karin.lind@example.se", MESSAGE)

    assert permanent.value.permanent and permanent.value.unknown_recipient
    assert not transient.value.permanent and transient.value.code == 452
    assert smtp_server.recipients() == ["full@example.se", "karin.lind@example.se"]


def test_it_resets_after_the_message_itself_is_refused(transport, smtp_server):
    smtp_server.fail_data_once["karin.lind@example.se"] = "451 4.3.0 Try again later"

    with pytest.raises(DeliveryRefused) as refused:
        transport.send("lansnytt@example.org", "karin.lind@example.se", MESSAGE)
    transport.send("lansnytt@example.org", "olle.berg@example.se", MESSAGE)

    assert refused.value.code == 451 and not refused.value.permanent
    assert smtp_server.recipients() == ["olle.berg@example.se"]


def test_it_treats_552_to_rcpt_as_transient_and_552_to_the_message_as_permanent(
    transport, smtp_server
):
    smtp_server.fail_once["manga@example.se"] = "552 5.5.3 Too many recipients"
    smtp_server.on_data_end = lambda address, attempt: (
        "552 5.3.4 Message size exceeds fixed maximum message size"
        if address == "stor@example.se"
        else None
    )

    with pytest.raises(DeliveryRefused) as too_many:
        transport.send("lansnytt@example.org", "manga@example.se", MESSAGE)
    with pytest.raises(DeliveryRefused) as too_big:
        transport.send("lansnytt@example.org", "stor@example.se", MESSAGE)

    # RFC 5321 4.5.3.1.10: a 552 to RCPT is the old "too many recipients", a 452.
    assert (too_many.value.code, too_many.value.command) == (552, "RCPT")
    assert not too_many.value.permanent
    assert too_big.value.permanent and not too_big.value.unknown_recipient
    assert "5.3.4" in str(too_big.value)


def test_it_calls_a_closed_port_or_a_421_greeting_unavailable_not_a_failed_message(smtp_server):
    smtp_server.on_connect = lambda number: "421 4.3.2 Too busy, try again later"
    busy = SmtpTransport(smtp_server.url, timeout=10)
    with pytest.raises(ServerUnavailable, match="421"):
        busy.send("lansnytt@example.org", "karin.lind@example.se", MESSAGE)

    smtp_server.stop_listening()
    closed = SmtpTransport(smtp_server.url, timeout=10)
    with pytest.raises(ServerUnavailable):
        closed.send("lansnytt@example.org", "karin.lind@example.se", MESSAGE)
    assert smtp_server.received == []


def test_it_calls_a_refused_login_a_broken_transport_not_an_outage(smtp_server):
    # The sink offers no AUTH: a configured password cannot be used, as with a wrong one.
    misconfigured = SmtpTransport(
        smtp_server.url.replace("smtp://", "smtp://lansnytt:fel@"), timeout=10
    )
    with pytest.raises(TransportBroken) as broken:
        misconfigured.send("lansnytt@example.org", "karin.lind@example.se", MESSAGE)

    assert not isinstance(broken.value, ServerUnavailable)
