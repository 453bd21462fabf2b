"""Where messages go: one SMTP connection per batch, or .eml files when EMAIL_URL is unset.

SMTP errors are classified here, once: a 5xx reply is permanent, a 4xx reply and a broken
connection are transient. Two refinements: a 552 to RCPT is the old "too many recipients" and
is transient (RFC 5321 4.5.3.1.10), and a connection that could not be opened at all
(refused, timed out, a 421 or other non-220 greeting) is `ServerUnavailable`: no message of
the batch reached the server, so it is the server's outage, not a delivery attempt.
"""

from __future__ import annotations

import smtplib
import ssl
from pathlib import Path

import environ
from django.conf import settings

from lansnytt.generated_files import OUTBOX, generated_dir
from lansnytt.mail import outbox_write


class DeliveryRefused(Exception):
    """The server answered this one message with an error reply."""

    def __init__(self, code: int, reply: str, *, command: str = ""):
        super().__init__(f"{code} {reply}")
        self.code = code
        self.reply = reply
        self.command = command  # the command refused: MAIL, RCPT, DATA or "" (end of DATA)

    @property
    def permanent(self) -> bool:
        if self.code == 552 and self.command == "RCPT":
            # RFC 821 listed "too many recipients" as 552; RFC 5321 4.5.3.1.10 says clients
            # SHOULD treat a 552 to RCPT as temporary. A 552 at the end of DATA (message too
            # big, storage exceeded) stays permanent.
            return False
        return 500 <= self.code < 600

    @property
    def unknown_recipient(self) -> bool:
        # RFC 3463 5.1.1 "bad destination mailbox address", and the wording of servers that
        # do not send enhanced status codes.
        text = self.reply.lower()
        return self.code == 550 and (
            "5.1.1" in text or "user unknown" in text or "no such user" in text
        )


class TransportBroken(Exception):
    """The connection failed or was closed; whatever was in flight is transient."""


class ServerUnavailable(TransportBroken):
    """No connection could be opened: nothing of the message was handed to the server."""


def _reply_text(reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return " ".join(reply.split())[:900]


class SmtpTransport:
    def __init__(self, url: str, *, timeout: int):
        config = environ.Env.email_url_config(url)
        self.host = config["EMAIL_HOST"] or "localhost"
        self.port = config["EMAIL_PORT"] or 25
        self.user = config["EMAIL_HOST_USER"] or ""
        self.password = config["EMAIL_HOST_PASSWORD"] or ""
        self.use_tls = bool(config.get("EMAIL_USE_TLS"))
        self.use_ssl = bool(config.get("EMAIL_USE_SSL"))
        self.timeout = timeout
        self.connection: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def open(self) -> None:
        try:
            if self.use_ssl:
                connection = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except ssl.SSLError as error:
            # A certificate that does not verify is a setting to fix, not an outage to wait out.
            raise TransportBroken(f"{self.where}: {error}") from error
        except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected, OSError) as error:
            # Refused, timed out, or a greeting other than 220 (a busy server says 421).
            raise ServerUnavailable(f"{self.where}: {error}") from error
        except smtplib.SMTPException as error:
            raise TransportBroken(f"{self.where}: {error}") from error
        try:
            if self.use_tls and not self.use_ssl:
                connection.starttls(context=ssl.create_default_context())
            connection.ehlo_or_helo_if_needed()
            if self.user:
                connection.login(self.user, self.password)
        except (smtplib.SMTPException, OSError) as error:
            # A refused STARTTLS, EHLO or login is not an outage: it stays an attempt, so a
            # wrong password ends in failures that pause the dispatch, not in retries forever.
            connection.close()
            raise TransportBroken(f"{self.where}: {error}") from error
        self.connection = connection

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                self.connection.close()
            self.connection = None

    def send(self, envelope_from: str, recipient: str, message: bytes) -> str:
        """Send one message; returns the server's final reply (the 250 line).

        `message` is a complete RFC 5322 message with CRLF line ends, as worker.message
        builds it. Written with the SMTP commands rather than sendmail() because sendmail()
        throws the final reply away, and that reply (often a queue id) is what proves
        delivery.
        """
        if self.connection is None:
            self.open()
        connection = self.connection
        try:
            if self._pipelining and (envelope_from + recipient).isascii():
                code, reply, command = self._transaction_pipelined(
                    envelope_from, recipient, message
                )
            else:
                code, reply, command = self._transaction(envelope_from, recipient, message)
            if code == 250:
                return _reply_text(f"{code} ".encode() + reply)
            if code == 421:
                self.connection = None
                connection.close()
                raise TransportBroken(f"{code} {_reply_text(reply)}")
            connection.rset()
            raise DeliveryRefused(code, _reply_text(reply), command=command)
        except smtplib.SMTPServerDisconnected as error:
            self.connection = None
            raise TransportBroken(str(error)) from error
        except smtplib.SMTPResponseException as error:
            # data() raises for a bad reply to DATA itself (before the message is sent). The
            # transaction is still open then: reset it, or the next MAIL gets "503 nested".
            if error.smtp_code == 421:
                self.connection = None
                connection.close()
                raise TransportBroken(f"421 {_reply_text(error.smtp_error)}") from error
            connection.rset()
            raise DeliveryRefused(
                error.smtp_code, _reply_text(error.smtp_error), command="DATA"
            ) from error
        except OSError as error:
            self.connection = None
            connection.close()
            raise TransportBroken(str(error)) from error

    @property
    def _pipelining(self) -> bool:
        return bool(self.connection.does_esmtp and self.connection.has_extn("pipelining"))

    def _transaction(self, envelope_from: str, recipient: str, message: bytes):
        connection = self.connection
        code, reply = connection.mail(envelope_from)
        if code != 250:
            return code, reply, "MAIL"
        code, reply = connection.rcpt(recipient)
        if code not in (250, 251):
            return code, reply, "RCPT"
        return *connection.data(message), ""

    def _transaction_pipelined(self, envelope_from: str, recipient: str, message: bytes):
        """MAIL, RCPT and DATA in one write (RFC 2920 PIPELINING), then the message.

        Two round trips per message instead of four: on loopback that is most of the cost
        of a message, and to a remote smarthost it is nearly all of it. The message is
        dot-stuffed here (RFC 5321 4.5.2) with one bytes.replace instead of smtplib's
        per-line regular expressions.
        """
        connection = self.connection
        connection.send(
            f"MAIL FROM:<{envelope_from}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode("ascii")
        )
        mail_code, mail_reply = connection.getreply()
        rcpt_code, rcpt_reply = connection.getreply()
        data_code, data_reply = connection.getreply()
        if data_code == 354 and not (mail_code == 250 and rcpt_code in (250, 251)):
            # A server that opens DATA without a valid recipient leaves us mid-transaction
            # with nothing sensible to send; drop the connection (transient for this one).
            raise OSError(f"{data_code} after refused MAIL/RCPT ({mail_code}/{rcpt_code})")
        if mail_code != 250:
            return mail_code, mail_reply, "MAIL"
        if rcpt_code not in (250, 251):
            return rcpt_code, rcpt_reply, "RCPT"
        if data_code != 354:
            return data_code, data_reply, "DATA"
        if message.startswith(b"."):
            message = b"." + message
        if b"\n." in message:
            message = message.replace(b"\r\n.", b"\r\n..")
        if not message.endswith(b"\r\n"):
            message += b"\r\n"
        connection.send(message + b".\r\n")
        return *connection.getreply(), ""


class OutboxTransport:
    """The embedded default: every message becomes an .eml file under var/outbox/."""

    def __init__(self, directory: Path | None = None):
        self.directory = Path(directory or generated_dir(OUTBOX))

    @property
    def where(self) -> str:
        return str(self.directory)

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        pass

    def send(self, envelope_from: str, recipient: str, message: bytes) -> str:
        path = outbox_write(message, outbox_dir=self.directory)
        return f"250 written to {path.name}"


def transport_make() -> SmtpTransport | OutboxTransport:
    """The transport the settings ask for (read at call time so tests can override them)."""
    if settings.EMAIL_URL:
        return SmtpTransport(settings.EMAIL_URL, timeout=settings.EMAIL_TIMEOUT)
    return OutboxTransport()
