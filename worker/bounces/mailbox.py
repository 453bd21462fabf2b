"""Polling the bounce mailbox over IMAP (BOUNCE_MAILBOX_URL).

Every message in the folder is handled and then moved out of it: reports we acted on (or
deliberately ignored) to BOUNCE_MAILBOX_PROCESSED_FOLDER, everything kept for staff (a reply,
an unreadable or oversized report) to BOUNCE_MAILBOX_KEPT_FOLDER. Nothing is deleted, and
the folder holds exactly what is still to do. A message is moved only after its effect is
committed; if the poller dies in between, the next poll applies it again, which changes
nothing (matching.report_apply is idempotent). Only one poller runs at a time (a lock in
Redis), and one poll reads at most BOUNCE_MAILBOX_BATCH messages.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import ssl
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from django.conf import settings

from subscribers.models import ConsentSource

from ..locks import single_run_lock
from .intake import KEPT, bounce_message_process

logger = logging.getLogger(__name__)

_LOCK_NAME = "lansnytt:bounce-mailbox-poll"
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
SCHEMES = ("imap", "imaps")


class MailboxUnusable(RuntimeError):
    """The mailbox cannot be reached or refuses us; the next poll tries again."""


@dataclass
class PollResult:
    skipped: str = ""  # why nothing was done (no mailbox configured, another poll running)
    applied: int = 0
    ignored: int = 0
    kept: int = 0
    failed: int = 0  # could not be applied now; left in the folder
    left: int = 0  # messages over this poll's batch, for the next one
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MailboxAddress:
    scheme: str
    host: str
    port: int
    user: str
    password: str
    folder: str

    @classmethod
    def parse(cls, url: str) -> MailboxAddress:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise MailboxUnusable("BOUNCE_MAILBOX_URL must be imaps://user:pass@host/FOLDER")
        default_port = 993 if parts.scheme == "imaps" else 143
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=parts.port or default_port,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
        )


def _poll_lock():
    """True when this process holds the one poller's lock."""
    timeout = int(max(settings.BOUNCE_MAILBOX_POLL_SECONDS * 2, 900))
    return single_run_lock(_LOCK_NAME, timeout=timeout)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(response: tuple, what: str) -> list:
    kind, data = response
    if kind != "OK":
        raise MailboxUnusable(f"{what}: {kind} {data!r}"[:300])
    return data


def _login(connection: imaplib.IMAP4, address: MailboxAddress) -> tuple:
    # LOGIN carries only ASCII; SASL PLAIN carries any password as UTF-8 (RFC 4616).
    if "AUTH=PLAIN" in connection.capabilities:
        credentials = f"\0{address.user}\0{address.password}".encode()
        return connection.authenticate("PLAIN", lambda challenge: credentials)
    return connection.login(address.user, address.password)


class _Imap:
    def __init__(self, address: MailboxAddress) -> None:
        timeout = settings.BOUNCE_MAILBOX_TIMEOUT_SECONDS
        try:
            if address.scheme == "imaps":
                self.connection = imaplib.IMAP4_SSL(
                    address.host,
                    address.port,
                    ssl_context=ssl.create_default_context(),
                    timeout=timeout,
                )
            else:
                self.connection = imaplib.IMAP4(address.host, address.port, timeout=timeout)
            _check(_login(self.connection, address), "LOGIN")
            _check(self.connection.select(_quoted(address.folder)), "SELECT")
        except (OSError, imaplib.IMAP4.error) as error:
            raise MailboxUnusable(f"{address.host}:{address.port}: {error}") from error
        # Servers announce more (MOVE, UIDPLUS) once logged in, so ask again.
        data = _check(self.connection.capability(), "CAPABILITY")
        capabilities = set(b" ".join(data).decode("ascii", "replace").upper().split())
        self.can_move = "MOVE" in capabilities
        self.uidplus = "UIDPLUS" in capabilities
        for folder in (
            settings.BOUNCE_MAILBOX_PROCESSED_FOLDER,
            settings.BOUNCE_MAILBOX_KEPT_FOLDER,
        ):
            # NO when it exists already, which is what we want.
            self.connection.create(_quoted(folder))

    def uids(self) -> list[bytes]:
        data = _check(self.connection.uid("SEARCH", None, "UNDELETED"), "SEARCH")
        return data[0].split() if data and data[0] else []

    def size(self, uid: bytes) -> int:
        data = _check(self.connection.uid("FETCH", uid, "(RFC822.SIZE)"), "FETCH SIZE")
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            match = _SIZE.search(line or b"")
            if match:
                return int(match.group(1))
        raise MailboxUnusable(f"no size for message {uid!r}")

    def read(self, uid: bytes, limit: int | None) -> bytes:
        section = "BODY.PEEK[]" if limit is None else f"BODY.PEEK[]<0.{limit}>"
        data = _check(self.connection.uid("FETCH", uid, f"({section})"), "FETCH")
        return b"".join(item[1] for item in data if isinstance(item, tuple))

    def move(self, uid: bytes, folder: str) -> None:
        if self.can_move:
            _check(self.connection.uid("MOVE", uid, _quoted(folder)), "MOVE")
            return
        _check(self.connection.uid("COPY", uid, _quoted(folder)), "COPY")
        _check(self.connection.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
        if self.uidplus:
            _check(self.connection.uid("EXPUNGE", uid), "UID EXPUNGE")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if not self.can_move and not self.uidplus:
                self.connection.expunge()
            self.connection.logout()


def bounce_mailbox_poll() -> PollResult:
    """Handle the messages waiting in the bounce mailbox (the beat task's work)."""
    if not settings.BOUNCE_MAILBOX_URL:
        return PollResult(skipped="BOUNCE_MAILBOX_URL is not set")
    address = MailboxAddress.parse(settings.BOUNCE_MAILBOX_URL)
    with _poll_lock() as held:
        if not held:
            return PollResult(skipped="another poll of the bounce mailbox is running")
        return _poll(address)


def _poll(address: MailboxAddress) -> PollResult:
    result = PollResult()
    mailbox = _Imap(address)
    try:
        uids = mailbox.uids()
        batch, result.left = (
            uids[: settings.BOUNCE_MAILBOX_BATCH],
            max(0, len(uids) - settings.BOUNCE_MAILBOX_BATCH),
        )
        for uid in batch:
            size = mailbox.size(uid)
            too_large = size > settings.BOUNCE_MESSAGE_MAX_BYTES
            raw = mailbox.read(uid, settings.BOUNCE_KEPT_MAX_BYTES if too_large else None)
            try:
                outcome = bounce_message_process(
                    raw=raw,
                    size=size,
                    source=ConsentSource.MAILBOX,
                    origin=f"{address.host}/{address.folder} UID {uid.decode()}",
                )
            except Exception:
                # The database, most likely: the message stays where it is for the next poll,
                # and one message that keeps failing does not hold up the others.
                logger.exception("bounce mailbox: message UID %s left for the next poll", uid)
                result.failed += 1
                continue
            setattr(result, outcome.status, getattr(result, outcome.status) + 1)
            result.lines.append(f"UID {uid.decode()}: {outcome.text}")
            folder = (
                settings.BOUNCE_MAILBOX_KEPT_FOLDER
                if outcome.status == KEPT
                else settings.BOUNCE_MAILBOX_PROCESSED_FOLDER
            )
            mailbox.move(uid, folder)
    finally:
        mailbox.close()
    logger.info(
        "bounce mailbox: %s applied, %s ignored, %s kept, %s left for the next poll",
        result.applied,
        result.ignored,
        result.kept,
        result.left,
    )
    return result
