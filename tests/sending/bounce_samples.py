"""Returned messages as real mail systems write them, trimmed: Postfix DSNs (a permanent
failure and a delay warning), an old Microsoft Exchange non-delivery report (not a DSN), a
broken report, an ARF complaint (RFC 5965, after its own example) and a reader's reply."""

from __future__ import annotations

_POSTFIX = """\
Return-Path: <>
Delivered-To: {to}
From: MAILER-DAEMON@mx.kommun.example.se (Mail Delivery System)
To: {to}
Subject: {subject}
Message-Id: <20261125100001.{serial}@mx.kommun.example.se>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="B{serial}"

--B{serial}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.kommun.example.se.

{human}

--B{serial}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.kommun.example.se
X-Postfix-Queue-ID: 4F2C81A0{serial}
Arrival-Date: Wed, 25 Nov 2026 10:00:00 +0100

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mailbox.kommun.example.se
Diagnostic-Code: smtp; {code} {status} <{recipient}>: {diagnostic}

--B{serial}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: =?utf-8?q?L=C3=A4nsnytt?= <lansnytt@example.org>
To: Karin Lind <{recipient}>
Subject: =?utf-8?q?L=C3=A4nsnytt_2018=3A1?=
Message-ID: <{message_id}>
List-Id: Regionbibliotek Stockholm <lansnytt.lansnytt.example.org>

--B{serial}--
"""

_serial = iter(range(1000, 100000))


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def hard_dsn(*, recipient: str, message_id: str, to: str) -> bytes:
    return _crlf(
        _POSTFIX.format(
            to=to,
            subject="Undelivered Mail Returned to Sender",
            serial=next(_serial),
            human="I'm sorry to have to inform you that your message could not\n"
            "be delivered to one or more recipients.",
            recipient=recipient,
            action="failed",
            status="5.1.1",
            code=550,
            diagnostic="Recipient address rejected: User unknown in virtual mailbox table",
            message_id=message_id,
        )
    )


def soft_dsn(*, recipient: str, message_id: str, to: str) -> bytes:
    return _crlf(
        _POSTFIX.format(
            to=to,
            subject="Delayed Mail (still being retried)",
            serial=next(_serial),
            human="####################################################################\n"
            "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
            "####################################################################",
            recipient=recipient,
            action="delayed",
            status="4.2.2",
            code=452,
            diagnostic="Mailbox full",
            message_id=message_id,
        )
    )


def exchange_ndr(*, recipient: str, to: str) -> bytes:
    """Exchange 2000's own format: plain text, no DSN part, no Message-ID of ours."""
    return _crlf(f"""\
Return-Path: <>
Delivered-To: {to}
From: System Administrator <postmaster@exch01.region.example.se>
To: {to}
Subject: Undeliverable: =?utf-8?q?L=C3=A4nsnytt_2018=3A1?=
Date: Wed, 25 Nov 2026 10:00:05 +0100
MIME-Version: 1.0
Content-Type: text/plain; charset="iso-8859-1"
X-MS-Embedded-Report:

Your message

  To:      Per Holm
  Subject: Lansnytt 2018:1
  Sent:    Wed, 25 Nov 2026 10:00:00 +0100

did not reach the following recipient(s):

{recipient} on Wed, 25 Nov 2026 10:00:05 +0100
    The recipient name is not recognized
    The MTS-ID of the original message is: c=SE;a= ;p=Region;l=EXCH01-261125090005Z-1
    MSEXCH:IMS:Region:Stockholm:EXCH01 0 (000C05A6) Unknown Recipient
""")


def unreadable_report(*, to: str) -> bytes:
    """It calls itself a delivery report, but its status part names nobody."""
    return _crlf(f"""\
Return-Path: <>
From: MAILER-DAEMON@relay.example.net
To: {to}
Subject: Returned mail: see transcript for details
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="X"

--X
Content-Type: text/plain

   ----- The following addresses had permanent fatal errors -----
(reason: 5?? garbled by a broken gateway)

--X
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.net

--X--
""")


def arf_complaint(*, recipient: str, message_id: str, return_path: str) -> bytes:
    return _crlf(f"""\
From: <abuse@mail.example.com>
Date: Thu, 26 Nov 2026 09:15:00 +0100
Subject: FW: =?utf-8?q?L=C3=A4nsnytt_2018=3A1?=
To: <fbl@lansnytt.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.1 on Wed, 25 Nov 2026 10:00:00 +0100.  For more information
about this format please see http://www.mipassoc.org/arf/.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <{return_path}>
Original-Rcpt-To: <{recipient}>
Arrival-Date: Wed, 25 Nov 2026 10:00:00 +0100
Reported-Domain: example.org
Source-IP: 192.0.2.1

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

Return-Path: <{return_path}>
From: =?utf-8?q?L=C3=A4nsnytt?= <lansnytt@example.org>
To: <{recipient}>
Subject: =?utf-8?q?L=C3=A4nsnytt_2018=3A1?=
Message-ID: <{message_id}>
Date: Wed, 25 Nov 2026 10:00:00 +0100

Nyheter fran Regionbibliotek Stockholm.

--part1_13d.2e68ed54_boundary--
""")


def reader_reply(*, sender: str, message_id: str, to: str) -> bytes:
    return _crlf(f"""\
Return-Path: <{sender}>
Delivered-To: {to}
From: Maja Ek <{sender}>
To: {to}
Subject: Re: =?utf-8?q?L=C3=A4nsnytt_2018=3A1?=
In-Reply-To: <{message_id}>
Date: Wed, 25 Nov 2026 11:30:00 +0100
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hej!

Tack för ett fint nummer. Artikeln om meröppna bibliotek vill vi gärna
läsa mer om – finns det en kontaktperson på Regionbiblioteket?

Vänliga hälsningar
Maja Ek, Sundbybergs stadsbibliotek
""")
