"""The SMTP transport on its own: pipelined and plain transactions against a real server."""

import pytest

from worker.transport import DeliveryRefused, SmtpTransport

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
