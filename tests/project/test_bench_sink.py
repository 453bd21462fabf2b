"""The benchmark's SMTP sink counts exactly what is sent to it (bench/sink.py, bench/floor.py)."""

import smtplib
import socket

import pytest

from bench.content import bench_template, message_assemble, recipient_values, template_pieces
from bench.floor import floor_run
from bench.sink import SinkProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def sink():
    process = SinkProcess()
    yield process
    process.stop()


def _expected_bytes(recipients) -> int:
    pieces = template_pieces(bench_template())
    return sum(len(message_assemble(pieces, values)) for values in recipients)


@pytest.mark.parametrize("processes", [1, 2])
def test_it_counts_every_message_and_byte_the_floor_sends(sink, processes):
    recipients = recipient_values(200)

    outcome = floor_run(
        host="127.0.0.1", port=sink.port, recipients=recipients, processes=processes
    )

    stats = sink.stats()
    assert outcome["messages"] == 200
    assert stats["messages"] == 200
    assert stats["recipients"] == 200
    assert stats["bytes"] == _expected_bytes(recipients)
    assert stats["connections"] == processes
    assert outcome["seconds"] > 0


def test_it_starts_counting_from_zero_after_a_reset(sink):
    floor_run(host="127.0.0.1", port=sink.port, recipients=recipient_values(5), processes=1)

    sink.reset()

    assert sink.stats()["messages"] == 0
    assert sink.stats()["bytes"] == 0


def test_it_finds_the_end_of_data_when_it_arrives_split_across_reads(sink):
    body = b"Subject: split\r\n\r\nline one\r\n..leading dot stuffed\r\nlast line\r\n"
    commands = b"EHLO test\r\nMAIL FROM:<a@bench.invalid>\r\nRCPT TO:<b@bench.invalid>\r\nDATA\r\n"
    with socket.create_connection(("127.0.0.1", sink.port)) as connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = connection.makefile("rb")
        assert reader.readline().startswith(b"220")
        # Pipelined: every command in one write, answered in order.
        connection.sendall(commands)
        replies = [reader.readline() for _ in range(7)]
        assert replies[-1].startswith(b"354")
        # One byte at a time, so the "\r\n.\r\n" marker is split across many reads.
        for byte in body + b".\r\n":
            connection.sendall(bytes([byte]))
        assert reader.readline().startswith(b"250")
        connection.sendall(b"QUIT\r\n")
        assert reader.readline().startswith(b"221")

    stats = sink.stats()
    assert stats["messages"] == 1
    assert stats["bytes"] == len(body)


def test_it_refuses_data_before_a_recipient(sink):
    with smtplib.SMTP("127.0.0.1", sink.port) as connection:
        connection.ehlo()
        assert connection.has_extn("pipelining")
        assert connection.has_extn("8bitmime")
        connection.mail("a@bench.invalid")
        code, _ = connection.docmd("DATA")

    assert code == 503
    assert sink.stats()["messages"] == 0
