"""Reading a returned message: a bounce (RFC 3464 DSN or one of the older formats) or a
complaint (an ARF feedback report, RFC 5965).

Which addresses failed, and whether for good, is flufl.bounce's job (the detectors Mailman
uses: RFC 3464 DSNs first, then Exim, Postfix, qmail, Exchange, Yahoo and the other
non-standard formats). From the structure the standards define we read only what flufl
does not report: the enhanced status code and diagnostic of a DSN, the feedback type of an
ARF report, and the original message's Message-ID and return path, which lead back to the
delivery (worker.bounces.matching).

Everything here treats the message as hostile: the caller has checked its size, the number
of MIME parts walked is limited, and any failure of the parser is "unreadable", never a
crash of the poller.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, message_from_string, policy
from email.message import Message
from email.utils import parseaddr

from flufl.bounce import all_failures

from subscribers.bounce_policy import COMPLAINT, HARD, SOFT

from ..verp import verp_tokens_find

# More parts than any real report has; a message bomb of nested parts stops here.
MAX_PARTS = 200
# ARF feedback types that are the reader's complaint (RFC 5965 §7.3); "not-spam" and
# "virus" are not.
COMPLAINT_FEEDBACK_TYPES = {"abuse", "fraud", "other"}
# Headers a receiving system puts the envelope recipient in: where a VERP address shows.
_ENVELOPE_HEADERS = ("delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "to")


class NotABounce(ValueError):
    """Neither a bounce nor a feedback report: a reply, an auto-reply, spam."""


class UnreadableReport(ValueError):
    """It says it is a report, but no recipient or failure can be read from it."""


@dataclass(frozen=True)
class Report:
    kind: str  # subscribers.bounce_policy: hard, soft, complaint (unsubscribe for webhooks)
    recipients: tuple[str, ...]  # the addresses the report is about, lower case
    status: str = ""  # enhanced status code, e.g. 5.1.1
    diagnostic: str = ""
    message_id: str = ""  # the original message's Message-ID
    tokens: tuple[str, ...] = ()  # VERP delivery tokens found in the report's headers
    description: str = ""  # what the report is, for the operator


def _parts(message: Message) -> list[Message]:
    parts: list[Message] = []
    stack = [message]
    while stack:
        part = stack.pop()
        parts.append(part)
        if len(parts) > MAX_PARTS:
            raise UnreadableReport(f"more than {MAX_PARTS} MIME parts")
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
    return parts


def _header_blocks(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status or message/feedback-report part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = payload if isinstance(payload, str) else ""
    return [message_from_string(chunk) for chunk in text.replace("\r\n", "\n").split("\n\n")]


def _original_headers(parts: list[Message]) -> Message | None:
    """The returned message's headers (message/rfc822 or text/rfc822-headers)."""
    for part in parts:
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        if content_type == "text/rfc822-headers":
            raw = part.get_payload(decode=True) or b""
            return message_from_bytes(raw.split(b"\r\n\r\n")[0].split(b"\n\n")[0])
    return None


def _tokens(message: Message, original: Message | None) -> tuple[str, ...]:
    texts = [str(value) for name in _ENVELOPE_HEADERS for value in message.get_all(name, [])]
    if original is not None:
        # The returned message as its recipient got it carries the Return-Path its server
        # wrote from our envelope sender: that is where an ARF report shows the VERP address.
        texts += [str(value) for value in original.get_all("return-path", [])]
    return tuple(token for text in texts for token in verp_tokens_find(text))


def _address(value: str) -> str:
    value = value.partition(";")[2].strip() if ";" in value else value
    return parseaddr(value)[1].strip().lower()


def _dsn_fields(parts: list[Message]) -> tuple[str, str]:
    """Status and diagnostic of the first failed (else delayed) recipient of a DSN."""
    found: dict[str, tuple[str, str]] = {}
    for part in parts:
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in _header_blocks(part):
            action = str(block.get("action", "")).strip().lower()
            status = str(block.get("status", "")).strip().split(" ")[0]
            diagnostic = " ".join(str(block.get("diagnostic-code", "")).split())
            key = "failed" if action.startswith(("fail", "error")) else action[:7]
            found.setdefault(key, (status, diagnostic))
    return found.get("failed") or found.get("delayed") or ("", "")


def _feedback_report(message: Message, parts: list[Message]) -> Report | None:
    part = next((p for p in parts if p.get_content_type() == "message/feedback-report"), None)
    if part is None:
        return None
    fields: dict[str, str] = {}
    for block in _header_blocks(part):
        for name, value in block.items():
            fields.setdefault(name.lower(), str(value))
    feedback_type = fields.get("feedback-type", "").strip().lower()
    if feedback_type not in COMPLAINT_FEEDBACK_TYPES:
        raise NotABounce(f"feedback report of type {feedback_type or 'none'}")
    original = _original_headers(parts)
    recipients = [_address(fields.get("original-rcpt-to", ""))]
    if original is not None:
        recipients.append(_address(str(original.get("to", ""))))
    tokens = _tokens(message, original) + tuple(
        verp_tokens_find(fields.get("original-mail-from", ""))
    )
    return Report(
        kind=COMPLAINT,
        recipients=tuple(dict.fromkeys(r for r in recipients if r)),
        message_id=str(original.get("message-id", "")) if original is not None else "",
        tokens=tuple(dict.fromkeys(tokens)),
        diagnostic=f"Feedback-Type: {feedback_type}",
        description=f"ARF {feedback_type}",
    )


def report_parse(raw: bytes) -> Report:
    """Read a returned message; raises NotABounce or UnreadableReport."""
    try:
        message = message_from_bytes(raw, policy=policy.compat32)
        parts = _parts(message)
        complaint = _feedback_report(message, parts)
        if complaint is not None:
            return complaint
        temporary, permanent = all_failures(message)
        original = _original_headers(parts)
    except (NotABounce, UnreadableReport):
        raise
    except Exception as error:  # a parser or detector choking on hostile input
        raise UnreadableReport(
            f"the message could not be parsed: {type(error).__name__}"
        ) from error
    if not (temporary or permanent):
        is_report = message.get_content_type() == "multipart/report" or any(
            part.get_content_type() == "message/delivery-status" for part in parts
        )
        if is_report:
            raise UnreadableReport("a delivery report naming no failed recipient")
        raise NotABounce("no bounce detector recognises the message")
    status, diagnostic = _dsn_fields(parts)
    kind = HARD if permanent else SOFT
    if not status:
        # A non-standard bounce gives no code; flufl.bounce tells permanent from temporary.
        status = "5.0.0" if kind == HARD else "4.0.0"
    failed = permanent or temporary
    return Report(
        kind=kind,
        recipients=tuple(sorted(address.decode("ascii").lower() for address in failed)),
        status=status,
        diagnostic=diagnostic,
        message_id=str(original.get("message-id", "")) if original is not None else "",
        tokens=tuple(dict.fromkeys(_tokens(message, original))),
        description=f"{'DSN' if _has_dsn(parts) else 'bounce'} {status}",
    )


def _has_dsn(parts: list[Message]) -> bool:
    return any(part.get_content_type() == "message/delivery-status" for part in parts)
