"""One message to one recipient: how it is built and handed to the mail server.

Batches and test sends both go through these functions, so a test shows exactly what a
reader gets (headers, links, Message-ID, DKIM) and a fix here fixes both.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.rendering import issue_render, issue_render_frozen
from subscribers.tokens import subscriber_links

from .message import (
    MessageTemplate,
    Recipient,
    dkim_sign,
    message_id_make,
    message_template_build,
    sending_settings,
    smtp_address,
)
from .transport import OutboxTransport, SmtpTransport
from .verp import delivery_token_make, verp_address

# Prepared messages per (issue, language, rendering version, subject prefix): built once per
# process, so the per-recipient path never renders or encodes the issue again.
_templates: dict[tuple[int, str, str, str], MessageTemplate] = {}


def message_template_for(
    *, issue, language: str, subject_prefix: str = "", version: str = ""
) -> MessageTemplate:
    """The prepared message of the issue in `language`. With `version` (a dispatch's frozen
    rendering version) it is that kept rendering, never the issue's current content: an
    edit made while a dispatch is sending does not reach the rest of its recipients."""
    if version:
        rendered = issue_render_frozen(issue=issue, language=language, version=version)
    else:
        rendered = issue_render(issue=issue, language=language)
    key = (issue.pk, rendered.language, rendered.version, subject_prefix)
    template = _templates.get(key)
    if template is None:
        if len(_templates) > 16:
            _templates.clear()
        template = _templates[key] = message_template_build(rendered, subject_prefix=subject_prefix)
    return template


def recipient_make(
    *,
    subscriber_id: int,
    email: str,
    name: str,
    address_hash: str = "",
    delivery_id: int | None = None,
    dispatch_id: int | None = None,
) -> Recipient:
    """The personal bits of one message. `subscriber_id` 0 signs links for no one (they show
    the "link does not work" page); a delivery's Message-ID is stable so a retry repeats it,
    and its envelope sender names it (VERP), so a bounce finds its way back. The unsubscribe
    link names `dispatch_id`, so the report counts it against that issue. `address_hash`: the
    subscriber's stored email_hash when the caller has it (see subscriber_links)."""
    # One HMAC per message, and none when neither VERP nor a provider header wants it.
    current = sending_settings()
    wanted = delivery_id and (current.bounce_address or current.email_provider)
    token = delivery_token_make(delivery_id=delivery_id) if wanted else ""
    preferences, unsubscribe = subscriber_links(
        subscriber_id=subscriber_id,
        email=email,
        dispatch_id=dispatch_id,
        address_hash=address_hash,
    )
    return Recipient(
        email=email,
        name=name,
        preferences_url=preferences,
        unsubscribe_url=unsubscribe,
        message_id=message_id_make(delivery_id=delivery_id),
        envelope_from=verp_address(delivery_id=delivery_id, token=token),
        delivery_token=token,
    )


@dataclass(frozen=True)
class OutgoingMessage:
    envelope_from: str
    envelope_to: str
    data: bytes
    stuffed: bool = False  # data is already dot-stuffed, as SMTP carries it (message_build_wire)


def message_build(*, template: MessageTemplate, recipient: Recipient) -> OutgoingMessage:
    """The bytes for one recipient; raises AddressNotSendable for an address SMTP cannot carry."""
    return OutgoingMessage(
        envelope_from=recipient.envelope_from or template.envelope_from,
        envelope_to=smtp_address(recipient.email),
        data=dkim_sign(template.render(recipient)),
    )


def message_build_wire(*, template: MessageTemplate, recipient: Recipient) -> OutgoingMessage:
    """Like message_build, but already dot-stuffed for SMTP when that can be done cheaply (no
    DKIM: a signature covers the message as it is, so it is stuffed after signing)."""
    if sending_settings().dkim_private_key_path:
        return message_build(template=template, recipient=recipient)
    return OutgoingMessage(
        envelope_from=recipient.envelope_from or template.envelope_from,
        envelope_to=smtp_address(recipient.email),
        data=template.render_wire(recipient),
        stuffed=True,
    )


def message_send(*, transport: SmtpTransport | OutboxTransport, message: OutgoingMessage) -> str:
    """Hand one message to the server; returns its reply, raises DeliveryRefused or
    TransportBroken (see worker.transport for which failures are permanent)."""
    return transport.send(message.envelope_from, message.envelope_to, message.data)
