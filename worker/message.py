"""The RFC 5322 message of an issue as bytes, prepared once, personalised per recipient.

Everything that is the same for every recipient (headers, MIME structure, the quoted-printable
encoding of the rendered text and HTML) is built once per issue and language into a list of
byte chunks with slots. Per recipient only the slots are filled and the chunks joined, so the
per-recipient path does no MIME work, no template rendering and no query.

Quoted-printable keeps lines at most 76 characters by soft line breaks. Each literal chunk is
encoded on its own and ends in a soft line break, and each filled-in value is encoded on its
own the same way, so the joined body is valid QP whatever the values' lengths.
"""

from __future__ import annotations

import binascii
import functools
import time
import uuid
from dataclasses import dataclass
from email.charset import Charset
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.core.signals import setting_changed

from newsletter import personalisation
from newsletter.rendering import RenderedIssue

_SOFT_BREAK = b"=\r\n"
# For the To header of a name that is not ASCII (most Swedish ones): made once, where a
# charset name makes formataddr build a Charset for every message.
_UTF8 = Charset("utf-8")

# Slots filled per recipient.
TO = "to"
MESSAGE_ID = "message_id"
DATE = "date"
UNSUBSCRIBE_HEADER = "unsubscribe_header"
PROVIDER_METADATA = "provider_metadata"
TEXT_NAME = "text_name"
TEXT_PREFERENCES = "text_preferences"
TEXT_UNSUBSCRIBE = "text_unsubscribe"
HTML_NAME = "html_name"
HTML_PREFERENCES = "html_preferences"
HTML_UNSUBSCRIBE = "html_unsubscribe"

_TEXT_SLOTS = {
    personalisation.NAME: TEXT_NAME,
    personalisation.PREFERENCES_URL: TEXT_PREFERENCES,
    personalisation.UNSUBSCRIBE_URL: TEXT_UNSUBSCRIBE,
}
_HTML_SLOTS = {
    personalisation.NAME: HTML_NAME,
    personalisation.PREFERENCES_URL: HTML_PREFERENCES,
    personalisation.UNSUBSCRIBE_URL: HTML_UNSUBSCRIBE,
}


def header_text_clean(value: str) -> str:
    """A header value with control characters (CR/LF above all) turned into spaces."""
    return personalisation.control_characters_clean(value)


def header_encode(value: str) -> str:
    """A header value, RFC 2047-encoded when it is not plain ASCII."""
    value = header_text_clean(value)
    try:
        value.encode("ascii")
    except UnicodeEncodeError:
        return Header(value, "utf-8", maxlinelen=76).encode(linesep="\r\n")
    return value


class AddressNotSendable(ValueError):
    """An address this sender cannot put on the wire (it is reported on its delivery)."""


def smtp_address(email: str) -> str:
    """The address as it goes into SMTP and the To header: ASCII, the domain in IDNA form.

    Swedish domains with å, ä or ö are common (räksmörgås.se); their punycode form reaches
    the same mailbox. A non-ASCII local part would need SMTPUTF8, which we do not send.
    """
    email = email.strip()
    if personalisation.control_characters_clean(email) != email or " " in email or "@" not in email:
        raise AddressNotSendable(f"not a plain email address: {email!r}")
    if email.isascii():
        return email
    local, _, domain = email.rpartition("@")
    if not local.isascii():
        raise AddressNotSendable(f"the local part needs SMTPUTF8, which is not supported: {email}")
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError as error:
        raise AddressNotSendable(f"the domain is not a valid IDN: {email}") from error


def address_format(*, name: str, email: str) -> str:
    """ "Name <email>" with the name encoded as needed; refuses an address that is not one."""
    return formataddr((header_text_clean(name), smtp_address(email)), charset=_UTF8)


def qp_encode(value: str) -> bytes:
    """Quoted-printable with CRLF line ends, ending in a soft break (see the module doc)."""
    data = value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n").encode("utf-8")
    encoded = binascii.b2a_qp(data, istext=True)
    if encoded.endswith(b"\r\n"):
        return encoded
    return encoded + _SOFT_BREAK


@dataclass(frozen=True)
class SendingSettings:
    """The settings that every message reads, taken once: a setting read through Django's
    LazySettings is a Python-level attribute lookup, and a message made a dozen of them (3 %
    of the sending thread by py-spy). Taken again whenever a setting changes (Django's
    setting_changed: override_settings, the test suite's settings fixture)."""

    site_domain: str
    bounce_address: str
    email_provider: str
    dkim_private_key_path: str
    list_unsubscribe_mailto: str


@functools.cache
def sending_settings() -> SendingSettings:
    return SendingSettings(
        site_domain=_site_domain(settings.SITE_URL),
        bounce_address=settings.BOUNCE_ADDRESS,
        email_provider=getattr(settings, "EMAIL_PROVIDER", ""),
        dkim_private_key_path=getattr(settings, "DKIM_PRIVATE_KEY_PATH", ""),
        list_unsubscribe_mailto=getattr(settings, "LIST_UNSUBSCRIBE_MAILTO", ""),
    )


def _sending_settings_forget(**kwargs) -> None:
    sending_settings.cache_clear()


setting_changed.connect(_sending_settings_forget, dispatch_uid="worker.message.sending_settings")


def site_domain() -> str:
    return sending_settings().site_domain


@functools.lru_cache(maxsize=4)
def _site_domain(site_url: str) -> str:
    # Every Message-ID needs it: parse the URL once, not once per message.
    return urlsplit(site_url).hostname or "localhost"


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    preferences_url: str
    unsubscribe_url: str
    message_id: str
    # The delivery's own return path (worker.verp) when BOUNCE_ADDRESS is set; empty means
    # the template's, the From address.
    envelope_from: str = ""
    # The signed delivery token, for the relay provider's metadata header (EMAIL_PROVIDER).
    delivery_token: str = ""


@dataclass(frozen=True)
class MessageTemplate:
    """The message with its per-recipient slots; `chunks` alternates bytes and slot names."""

    chunks: tuple[bytes | str, ...]
    envelope_from: str
    language: str = "sv"

    def render(self, recipient: Recipient, *, date: str | None = None) -> bytes:
        values = _slot_values(recipient, date=date or _date_now(), language=self.language)
        return b"".join(
            chunk if isinstance(chunk, bytes) else values[chunk] for chunk in self.chunks
        )

    def render_wire(self, recipient: Recipient, *, date: str | None = None) -> bytes:
        """The message as SMTP carries it between DATA and the final ".": dot-stuffed
        (RFC 5321 4.5.2). The literal chunks were stuffed once, when the template was built,
        so per recipient only the filled-in values are looked at, not the whole ~40 KB."""
        values = _slot_values(recipient, date=date or _date_now(), language=self.language)
        base, slots, dotted_literals = self._wire_plan
        parts = base.copy()
        for index, slot in slots:
            value = values[slot]
            if not value:
                continue  # stays b"": an empty slot (no provider header) hides no line start
            if b"\n." in value:
                value = value.replace(b"\n.", b"\n..")
            if value[:1] == b"." and _line_starts_at(parts, index):
                value = b"." + value
            parts[index] = value
        for index in dotted_literals:
            if _line_starts_at(parts, index):
                parts[index] = b"." + parts[index]
        return b"".join(parts)

    @functools.cached_property
    def wire_chunks(self) -> tuple[bytes | str, ...]:
        return tuple(
            chunk.replace(b"\n.", b"\n..") if isinstance(chunk, bytes) else chunk
            for chunk in self.chunks
        )

    @functools.cached_property
    def _wire_plan(self) -> tuple[list[bytes], tuple[tuple[int, str], ...], tuple[int, ...]]:
        """What render_wire fills in: the stuffed literal chunks with b"" where the slots go,
        the slots by position, and the literal chunks starting with a dot right after a slot,
        whose stuffing depends on what that slot holds. A loop over the slots alone, not over
        every chunk, halved the time render_wire takes itself (bench/ profile)."""
        base: list[bytes] = []
        slots: list[tuple[int, str]] = []
        dotted_literals: list[int] = []
        for index, chunk in enumerate(self.wire_chunks):
            if not isinstance(chunk, bytes):
                base.append(b"")
                slots.append((index, chunk))
                continue
            if chunk[:1] == b".":
                if index and not isinstance(self.wire_chunks[index - 1], bytes):
                    dotted_literals.append(index)
                elif _line_starts_at(base, index):
                    chunk = b"." + chunk
            base.append(chunk)
        return base, tuple(slots), tuple(dotted_literals)


def _line_starts_at(parts: list[bytes], index: int) -> bool:
    """Whether the data written before parts[index] ends a line (or nothing was written)."""
    for position in range(index - 1, -1, -1):
        if parts[position]:
            return parts[position][-1:] == b"\n"
    return True


_date_cache: tuple[int, str] = (0, "")


def _date_now() -> str:
    """The Date header for now; formatted once per second, not once per message."""
    global _date_cache
    second = int(time.time())
    if _date_cache[0] != second:
        _date_cache = (second, formatdate(second, localtime=True))
    return _date_cache[1]


def _slot_values(recipient: Recipient, *, date: str, language: str) -> dict[str, bytes]:
    personal = personalisation.personal_values(
        name=recipient.name,
        preferences_url=recipient.preferences_url,
        unsubscribe_url=recipient.unsubscribe_url,
        language=language,
    )
    unsubscribe = f"<{recipient.unsubscribe_url}>"
    mailto = sending_settings().list_unsubscribe_mailto
    if mailto:
        unsubscribe += f", <mailto:{mailto}?subject=unsubscribe>"
    values = {
        TO: address_format(name=recipient.name, email=recipient.email).encode("ascii"),
        MESSAGE_ID: f"<{recipient.message_id}>".encode("ascii"),
        DATE: date.encode("ascii"),
        UNSUBSCRIBE_HEADER: header_text_clean(unsubscribe).encode("ascii"),
        PROVIDER_METADATA: provider_metadata_header(recipient.delivery_token),
    }
    for placeholder, slot in _TEXT_SLOTS.items():
        values[slot] = qp_encode(personal.text[placeholder])
    for placeholder, slot in _HTML_SLOTS.items():
        html = personal.html[placeholder]
        # The links are the same in both parts (escaping changes nothing in them): encode once.
        same = html == personal.text[placeholder]
        values[slot] = values[_TEXT_SLOTS[placeholder]] if same else qp_encode(html)
    return values


# How a provider's SMTP relay takes custom data that its webhooks send back (anymail reads it
# as the event's metadata): the delivery token lets a webhook name the delivery for certain.
_PROVIDER_HEADERS = {
    "mailgun": 'X-Mailgun-Variables: {{"lansnytt_delivery": "{token}"}}\r\n',
    "postmark": "X-PM-Metadata-lansnytt_delivery: {token}\r\n",
    "sendgrid": 'X-SMTPAPI: {{"unique_args": {{"lansnytt_delivery": "{token}"}}}}\r\n',
    "sparkpost": 'X-MSYS-API: {{"metadata": {{"lansnytt_delivery": "{token}"}}}}\r\n',
    "mailjet": 'X-MJ-EventPayload: {{"lansnytt_delivery": "{token}"}}\r\n',
}


def provider_metadata_header(token: str) -> bytes:
    """The metadata header line for EMAIL_PROVIDER, or nothing (the token is [0-9a-f-])."""
    template = _PROVIDER_HEADERS.get(sending_settings().email_provider)
    if not template or not token:
        return b""
    return template.format(token=token).encode("ascii")


def _body_chunks(content: str, slots: dict[str, str]) -> list[bytes | str]:
    chunks: list[bytes | str] = []
    position = 0
    for match in personalisation.PLACEHOLDER.finditer(content):
        chunks.append(qp_encode(content[position : match.start()]))
        chunks.append(slots[match.group(0)])
        position = match.end()
    chunks.append(qp_encode(content[position:]))
    return chunks


def message_template_build(rendered: RenderedIssue, *, subject_prefix: str = "") -> MessageTemplate:
    """Prepare the whole message for one rendered issue (once per issue and language)."""
    from_name, from_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    domain = site_domain()
    boundary = f"=_lansnytt_{uuid.uuid4().hex}"
    list_id = f"{header_encode(settings.PUBLISHER_NAME)} <lansnytt.{domain}>"
    head = (
        f"From: {address_format(name=from_name, email=from_address)}\r\n"
        f"Subject: {header_encode(subject_prefix + rendered.subject)}\r\n"
        f"List-Id: {list_id}\r\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
    )
    part_head = (
        "--{boundary}\r\nContent-Type: {kind}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    chunks: list[bytes | str] = [
        b"To: ",
        TO,
        b"\r\nDate: ",
        DATE,
        b"\r\nMessage-ID: ",
        MESSAGE_ID,
        b"\r\nList-Unsubscribe: ",
        UNSUBSCRIBE_HEADER,
        b"\r\n",
        PROVIDER_METADATA,
        head.encode("ascii") + b"\r\n",
        part_head.format(boundary=boundary, kind="text/plain").encode("ascii"),
        *_body_chunks(rendered.text, _TEXT_SLOTS),
        b"\r\n" + part_head.format(boundary=boundary, kind="text/html").encode("ascii"),
        *_body_chunks(rendered.html, _HTML_SLOTS),
        f"\r\n--{boundary}--\r\n".encode("ascii"),
    ]
    # Neighbouring literal chunks are merged so the per-recipient join has less to do.
    merged: list[bytes | str] = []
    for chunk in chunks:
        if isinstance(chunk, bytes) and merged and isinstance(merged[-1], bytes):
            merged[-1] += chunk
        else:
            merged.append(chunk)
    return MessageTemplate(
        chunks=tuple(merged), envelope_from=from_address, language=rendered.language
    )


def message_id_make(*, delivery_id: int | None = None) -> str:
    """A Message-ID on our own domain; stable per delivery so a retry repeats it."""
    local = f"lansnytt.d{delivery_id}" if delivery_id else f"lansnytt.t{uuid.uuid4().hex}"
    return f"{local}@{site_domain()}"


@functools.lru_cache(maxsize=2)
def _dkim_key(path: str) -> bytes:
    with open(path, "rb") as key_file:
        return key_file.read()


def dkim_sign(message: bytes) -> bytes:
    """Prepend a DKIM-Signature when a key is configured (a slower path, by design)."""
    key_path = getattr(settings, "DKIM_PRIVATE_KEY_PATH", "")
    if not key_path:
        return message
    import dkim

    signature = dkim.sign(
        message,
        settings.DKIM_SELECTOR.encode("ascii"),
        settings.DKIM_DOMAIN.encode("ascii"),
        _dkim_key(key_path),
        include_headers=[
            b"From",
            b"To",
            b"Subject",
            b"Date",
            b"Message-ID",
            b"List-Id",
            b"List-Unsubscribe",
            b"List-Unsubscribe-Post",
            b"MIME-Version",
            b"Content-Type",
        ],
    )
    return signature + message
