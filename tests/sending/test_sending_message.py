"""The prepared message: per-recipient substitution into bytes built once per issue."""

from email import message_from_bytes, policy

import pytest

from newsletter.rendering import issue_render
from tests.factories import sendable_issue_make
from worker.message import (
    HTML_NAME,
    PROVIDER_METADATA,
    TEXT_NAME,
    MessageTemplate,
    Recipient,
    message_template_build,
)

pytestmark = pytest.mark.django_db


def _recipient(name: str) -> Recipient:
    return Recipient(
        email="karin.lind@example.se",
        name=name,
        preferences_url="https://lansnytt.example.org/prenumeration/abc/",
        unsubscribe_url="https://lansnytt.example.org/avregistrera/def/",
        message_id="lansnytt.d1@lansnytt.example.org",
    )


def _parts(raw: bytes) -> tuple[str, str, object]:
    message = message_from_bytes(raw, policy=policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html, message


def test_it_greets_a_recipient_without_a_name_as_reader():
    template = message_template_build(issue_render(issue=sendable_issue_make()))

    text, html, _message = _parts(template.render(_recipient("")))

    assert "Hej läsare" in html
    assert "Hej !" not in html and "Hej !" not in text


def test_it_fills_the_name_and_personal_links_into_both_parts():
    template = message_template_build(issue_render(issue=sendable_issue_make()))

    text, html, message = _parts(template.render(_recipient("Karin Lind <3")))

    assert "Karin Lind &lt;3" in html
    assert "https://lansnytt.example.org/avregistrera/def/" in text
    assert "https://lansnytt.example.org/prenumeration/abc/" in html
    assert message["List-Unsubscribe"] == "<https://lansnytt.example.org/avregistrera/def/>"
    assert "__LANSNYTT_" not in text + html


def _unstuffed(wire: bytes) -> bytes:
    """What an SMTP server makes of DATA (RFC 5321 4.5.2): one leading dot off each line."""
    return b"\r\n".join(line[1:] if line.startswith(b".") else line for line in wire.split(b"\r\n"))


@pytest.mark.parametrize("name", [".Punkt", "Ann.\r\n.Bo", "..", "Karin", ""])
def test_the_wire_form_is_the_message_dot_stuffed_whatever_the_slots_hold(name):
    """Literal chunks that start a line with a dot, right after a slot or after an empty one
    (no provider header), and values that start or hold such lines: each stuffed once."""
    template = MessageTemplate(
        chunks=(
            b".first line\r\n",
            TEXT_NAME,
            b".after the name\r\n",
            PROVIDER_METADATA,
            b".after an empty slot\r\n..two\r\n",
            HTML_NAME,
            b"\r\n",
            TEXT_NAME,
            b"tail\r\n.\r\n",
        ),
        envelope_from="lansnytt@example.se",
    )
    recipient = _recipient(name)

    wire = template.render_wire(recipient, date="Fri, 04 Dec 2026 02:00:00 +0100")

    assert _unstuffed(wire) == template.render(recipient, date="Fri, 04 Dec 2026 02:00:00 +0100")
    assert b"\r\n.\r\n" not in wire  # no line of a lone dot: it would end DATA early
    assert wire.startswith(b"..first line")


@pytest.mark.parametrize(
    "name", ["Åsa Öberg", 'Karin "Kajsa" Lind', "Lind, Karin", "Ann\r\nBcc: x@evil.example"]
)
def test_the_to_header_carries_the_name_as_written_and_nothing_more(name):
    template = message_template_build(issue_render(issue=sendable_issue_make()))

    _text, _html, message = _parts(template.render(_recipient(name)))

    (to,) = message.get_all("To")
    assert to.addresses[0].addr_spec == "karin.lind@example.se"
    assert to.addresses[0].display_name == " ".join(name.split())  # CR LF: a space
    assert message.get_all("Bcc") is None
