"""The prepared message: per-recipient substitution into bytes built once per issue."""

from email import message_from_bytes, policy

import pytest

from newsletter.rendering import issue_render
from tests.factories import sendable_issue_make
from worker.message import Recipient, message_template_build

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
