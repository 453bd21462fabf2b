"""Bounces and complaints read from files and Maildirs by process_bounces (DSNs, ARF)."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from subscribers.models import Subscriber, SubscriberStatus, Suppression
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.sending import bounce_samples as samples
from worker.bounces.reports import NotABounce, report_parse
from worker.models import Delivery, DeliveryStatus, Dispatch, KeptBounceMessage

pytestmark = pytest.mark.django_db

# What Postfix sends back, trimmed: a human part, the delivery status, the original headers.
DSN = """\
From: MAILER-DAEMON@mx.example.se (Mail Delivery System)
To: lansnytt@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="B1"

--B1
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.se
Arrival-Date: Wed, 25 Nov 2026 10:00:00 +0100

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mailbox.example.se
Diagnostic-Code: smtp; {code} {status} <{recipient}>: Recipient address rejected:
    User unknown in virtual mailbox table

--B1
Content-Type: text/rfc822-headers

From: =?utf-8?q?L=C3=A4nsnytt?= <lansnytt@example.org>
To: Karin Lind <{recipient}>
Subject: =?utf-8?q?L=C3=A4nsnytt_2018=3A1?=
Message-ID: <{message_id}>

--B1--
"""


def _dsn(*, recipient: str, message_id: str, action="failed", status="5.1.1", code=550) -> bytes:
    text = DSN.format(
        recipient=recipient, message_id=message_id, action=action, status=status, code=code
    )
    return text.replace("\n", "\r\n").encode("ascii")


@pytest.fixture
def sent_delivery():
    segment = segment_make(slug="lasare")
    subscriber = subscriber_make(email="karin.lind@example.se", segments=[segment])
    issue = sendable_issue_make()
    return Delivery.objects.create(
        dispatch=Dispatch.objects.create(issue=issue),
        issue=issue,
        subscriber=subscriber,
        email=subscriber.email,
        status=DeliveryStatus.SENT,
        sent_at=timezone.now(),
        message_id="lansnytt.d1@lansnytt.example.org",
    )


def test_it_reads_the_delivery_and_the_permanent_failure_from_a_dsn(sent_delivery):
    report = report_parse(
        _dsn(
            recipient="karin.lind@example.se",
            message_id=f"lansnytt.d{sent_delivery.pk}@lansnytt.example.org",
        )
    )

    assert report.message_id == f"<lansnytt.d{sent_delivery.pk}@lansnytt.example.org>"
    assert report.recipients == ("karin.lind@example.se",)
    assert (report.kind, report.status) == ("hard", "5.1.1")
    assert "User unknown" in report.diagnostic


def test_it_marks_the_delivery_and_subscriber_bounced_once(sent_delivery, tmp_path, capsys):
    maildir = tmp_path / "bounces"
    (maildir / "new").mkdir(parents=True)
    (maildir / "cur").mkdir()
    message_id = f"lansnytt.d{sent_delivery.pk}@lansnytt.example.org"
    for name in ("1.eml", "2.eml"):  # the same DSN twice changes things once
        (maildir / "new" / name).write_bytes(
            _dsn(recipient="karin.lind@example.se", message_id=message_id)
        )
    (maildir / "cur" / "3.eml").write_bytes(b"From: someone@example.se\r\n\r\nHej!\r\n")

    call_command("process_bounces", str(maildir))

    sent_delivery.refresh_from_db()
    assert sent_delivery.bounced_at is not None
    assert sent_delivery.status == DeliveryStatus.SENT  # it was accepted; then it bounced
    assert "5.1.1" in sent_delivery.last_error
    subscriber = Subscriber.objects.get(pk=sent_delivery.subscriber_id)
    assert subscriber.status == SubscriberStatus.BOUNCED
    assert Suppression.objects.filter(email="karin.lind@example.se", reason="bounced").exists()
    assert subscriber.consent_events.get(action="bounce").source == "bounce_file"
    assert Suppression.objects.get().source == "bounce_file"
    output = capsys.readouterr().out
    assert "1 applied, 1 ignored, 1 kept for staff." in output
    assert KeptBounceMessage.objects.get().reason == "not_a_report"


def test_it_scores_a_delay_notice_and_changes_nothing_else(sent_delivery, tmp_path):
    path = tmp_path / "delayed.eml"
    path.write_bytes(
        _dsn(
            recipient="karin.lind@example.se",
            message_id=f"lansnytt.d{sent_delivery.pk}@lansnytt.example.org",
            action="delayed",
            status="4.2.2",
            code=452,
        )
    )

    call_command("process_bounces", str(path), "--delete")

    sent_delivery.refresh_from_db()
    assert sent_delivery.bounced_at is None
    assert Subscriber.objects.get(pk=sent_delivery.subscriber_id).status == "active"
    assert not Suppression.objects.exists()
    assert not path.exists()


def test_it_ignores_a_report_naming_another_address_than_the_delivery(sent_delivery, tmp_path):
    path = tmp_path / "forged.eml"
    path.write_bytes(
        _dsn(
            recipient="nagon.annan@example.se",
            message_id=f"lansnytt.d{sent_delivery.pk}@lansnytt.example.org",
        )
    )

    call_command("process_bounces", str(path))

    sent_delivery.refresh_from_db()
    assert sent_delivery.bounced_at is None
    assert Subscriber.objects.get(pk=sent_delivery.subscriber_id).status == "active"


def test_it_refuses_a_message_that_is_not_a_dsn():
    with pytest.raises(NotABounce):
        report_parse(b"From: karin.lind@example.se\r\nSubject: Tack!\r\n\r\nTack!\r\n")


def test_it_takes_dsns_and_arf_reports_in_any_mix(sent_delivery, tmp_path, capsys):
    other = subscriber_make(email="olle.berg@example.se")
    complained = Delivery.objects.create(
        dispatch=sent_delivery.dispatch,
        issue=sent_delivery.issue,
        subscriber=other,
        email=other.email,
        status=DeliveryStatus.SENT,
        sent_at=timezone.now(),
    )
    (tmp_path / "1-arf.eml").write_bytes(
        samples.arf_complaint(
            recipient=other.email,
            message_id=f"lansnytt.d{complained.pk}@lansnytt.example.org",
            return_path="lansnytt@example.org",
        )
    )
    (tmp_path / "2-dsn.eml").write_bytes(
        _dsn(
            recipient=sent_delivery.email,
            message_id=f"lansnytt.d{sent_delivery.pk}@lansnytt.example.org",
        )
    )

    call_command("process_bounces", str(tmp_path), "--delete")

    complained.refresh_from_db()
    sent_delivery.refresh_from_db()
    assert complained.complained_at is not None and complained.bounced_at is None
    assert sent_delivery.bounced_at is not None and sent_delivery.complained_at is None
    other.refresh_from_db()
    assert other.status == SubscriberStatus.UNSUBSCRIBED
    assert other.consent_events.get(action="complaint").source == "bounce_file"
    assert Suppression.objects.for_address(other.email).get().reason == "complaint"
    assert "2 applied, 0 ignored, 0 kept for staff." in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
