"""The bounce mailbox, polled over IMAP from a real Dovecot on loopback (tests/mailbox.py)."""

import pytest
from django.utils import timezone

from subscribers.models import (
    ConsentEvent,
    SoftBounce,
    Subscriber,
    SubscriberStatus,
    Suppression,
)
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.mailbox import imap_server  # noqa: F401
from tests.sending import bounce_samples as samples
from worker.bounces.mailbox import _poll_lock, bounce_mailbox_poll
from worker.models import Delivery, DeliveryStatus, Dispatch, KeptBounceMessage
from worker.tasks import bounce_mailbox_poll_task
from worker.verp import delivery_token_make, verp_address

pytestmark = pytest.mark.django_db

BOUNCES = "bounces@lansnytt.example.org"


@pytest.fixture
def mailbox(settings, imap_server):  # noqa: F811
    settings.BOUNCE_ADDRESS = BOUNCES
    settings.BOUNCE_MAILBOX_URL = imap_server.url
    return imap_server


@pytest.fixture
def sent():
    """Deliveries of one dispatch that went out: one per reader, keyed by their first name."""
    segment = segment_make(slug="lasare")
    issue = sendable_issue_make()
    dispatch = Dispatch.objects.create(issue=issue)
    deliveries = {}
    for name, email in [
        ("karin", "karin.lind@kommun.example.se"),
        ("olle", "olle.berg@kommun.example.se"),
        ("per", "per.holm@region.example.se"),
        ("sara", "sara.nord@bibliotek.example.se"),
        ("maja", "maja.ek@sundbyberg.example.se"),
    ]:
        subscriber = subscriber_make(email=email, segments=[segment])
        delivery = Delivery.objects.create(
            dispatch=dispatch,
            issue=issue,
            subscriber=subscriber,
            email=email,
            status=DeliveryStatus.SENT,
            sent_at=timezone.now(),
        )
        delivery.message_id = f"lansnytt.d{delivery.pk}@lansnytt.example.org"
        delivery.save(update_fields=["message_id"])
        deliveries[name] = delivery
    return deliveries


def _status(delivery: Delivery) -> str:
    return Subscriber.objects.get(pk=delivery.subscriber_id).status


def test_it_applies_every_kind_of_report_and_keeps_what_it_cannot_read(mailbox, sent):
    karin, olle, per, sara, maja = (sent[n] for n in ("karin", "olle", "per", "sara", "maja"))
    reply = samples.reader_reply(sender=maja.email, message_id=maja.message_id, to=BOUNCES)
    unreadable = samples.unreadable_report(to=BOUNCES)
    for raw in [
        samples.hard_dsn(
            recipient=karin.email,
            message_id=karin.message_id,
            to=verp_address(delivery_id=karin.pk),
        ),
        samples.soft_dsn(
            recipient=olle.email, message_id=olle.message_id, to=verp_address(delivery_id=olle.pk)
        ),
        samples.exchange_ndr(recipient=per.email, to=verp_address(delivery_id=per.pk)),
        unreadable,
        samples.arf_complaint(
            recipient=sara.email,
            message_id=sara.message_id,
            return_path=verp_address(delivery_id=sara.pk),
        ),
        reply,
    ]:
        mailbox.append(raw)

    bounce_mailbox_poll_task.apply().get()

    for delivery in sent.values():
        delivery.refresh_from_db()
    # The hard bounce (DSN 5.1.1) and the Exchange report (no DSN, no Message-ID of ours,
    # found by the VERP address it was sent to).
    for bounced in (karin, per):
        assert bounced.bounced_at is not None
        assert _status(bounced) == SubscriberStatus.BOUNCED
        suppression = Suppression.objects.for_address(bounced.email).get()
        assert (suppression.reason, suppression.source) == ("bounced", "mailbox")
        event = ConsentEvent.objects.get(subscriber_id=bounced.subscriber_id, action="bounce")
        assert event.source == "mailbox"
    karin_suppression = Suppression.objects.for_address(karin.email).get()
    assert "5.1.1" in karin_suppression.detail and "User unknown" in karin_suppression.detail
    assert f"leverans {karin.pk} (matchad med VERP)" in karin_suppression.detail
    # The delay warning scores once and changes nothing else.
    assert olle.bounced_at is None
    assert _status(olle) == SubscriberStatus.ACTIVE
    assert not Suppression.objects.for_address(olle.email).exists()
    assert SoftBounce.objects.filter(dispatch_key=olle.dispatch_id, status="4.2.2").count() == 1
    # The complaint unsubscribes and suppresses, as a complaint event.
    assert sara.complained_at is not None
    assert _status(sara) == SubscriberStatus.UNSUBSCRIBED
    assert Suppression.objects.for_address(sara.email).get().reason == "complaint"
    complaint = ConsentEvent.objects.get(subscriber_id=sara.subscriber_id, action="complaint")
    assert complaint.source == "mailbox"
    # The reply and the broken report are kept for staff, in the database and the mailbox.
    kept = {row.reason: row for row in KeptBounceMessage.objects.all()}
    assert set(kept) == {"not_a_report", "unreadable"}
    assert bytes(kept["not_a_report"].raw) == reply
    assert "Re: Länsnytt 2018:1" in kept["not_a_report"].subject
    assert _status(maja) == SubscriberStatus.ACTIVE
    assert mailbox.messages("INBOX") == []
    assert sorted(mailbox.messages("Kept")) == sorted([reply, unreadable])
    assert len(mailbox.messages("Processed")) == 4


def test_it_changes_nothing_when_the_same_reports_come_again(mailbox, sent):
    karin, sara = sent["karin"], sent["sara"]
    dsn = samples.hard_dsn(
        recipient=karin.email, message_id=karin.message_id, to=verp_address(delivery_id=karin.pk)
    )
    arf = samples.arf_complaint(
        recipient=sara.email,
        message_id=sara.message_id,
        return_path=verp_address(delivery_id=sara.pk),
    )
    reply = samples.reader_reply(sender="maja@example.se", message_id="x@y", to=BOUNCES)
    for raw in (dsn, dsn, arf, reply):
        mailbox.append(raw)

    first = bounce_mailbox_poll()
    # As if the poller had died after applying and before moving: the same messages again.
    for raw in (dsn, arf, reply):
        mailbox.append(raw)
    second = bounce_mailbox_poll()

    assert (first.applied, first.ignored, first.kept) == (2, 1, 1)
    assert (second.applied, second.ignored, second.kept) == (0, 2, 1)
    assert ConsentEvent.objects.filter(action__in=["bounce", "complaint"]).count() == 2
    assert Suppression.objects.count() == 2
    assert KeptBounceMessage.objects.count() == 1
    assert len(mailbox.messages("Processed")) == 5
    assert len(mailbox.messages("Kept")) == 2


def test_it_leaves_the_mailbox_alone_while_another_poll_holds_the_lock(mailbox, sent):
    karin = sent["karin"]
    mailbox.append(samples.hard_dsn(recipient=karin.email, message_id=karin.message_id, to=BOUNCES))

    with _poll_lock() as held:
        assert held
        result = bounce_mailbox_poll()

    assert result.skipped == "another poll of the bounce mailbox is running"
    assert len(mailbox.messages("INBOX")) == 1
    karin.refresh_from_db()
    assert karin.bounced_at is None
    assert bounce_mailbox_poll().applied == 1  # once the lock is free


def test_it_ignores_a_report_with_a_forged_verp_token(mailbox, sent):
    karin = sent["karin"]
    forged = f"bounces+{karin.pk}-{'0' * 20}@lansnytt.example.org"
    assert delivery_token_make(delivery_id=karin.pk) not in forged
    mailbox.append(samples.hard_dsn(recipient=karin.email, message_id=karin.message_id, to=forged))

    result = bounce_mailbox_poll()

    karin.refresh_from_db()
    assert karin.bounced_at is None
    assert _status(karin) == SubscriberStatus.ACTIVE
    assert not Suppression.objects.exists()
    assert "forged or damaged VERP token" in result.lines[0]
    assert len(mailbox.messages("Processed")) == 1  # handled, and still there to read


def test_it_ignores_a_dsn_naming_another_deliverys_message_id_for_another_address(mailbox, sent):
    karin, olle = sent["karin"], sent["olle"]
    # Written by someone who knows Karin's Message-ID and wants Olle off the list.
    mailbox.append(samples.hard_dsn(recipient=olle.email, message_id=karin.message_id, to=BOUNCES))

    result = bounce_mailbox_poll()

    for delivery in (karin, olle):
        delivery.refresh_from_db()
        assert delivery.bounced_at is None
        assert _status(delivery) == SubscriberStatus.ACTIVE
    assert not Suppression.objects.exists()
    assert result.ignored == 1
    assert "went to another address" in result.lines[0]


def test_it_matches_by_the_recipient_address_when_nothing_else_names_the_delivery(mailbox, sent):
    per = sent["per"]
    mailbox.append(samples.exchange_ndr(recipient=per.email, to=BOUNCES))

    bounce_mailbox_poll()

    per.refresh_from_db()
    assert per.bounced_at is not None
    assert (
        "matchad med recipient address" in Suppression.objects.for_address(per.email).get().detail
    )


def test_it_keeps_a_huge_message_unread_and_stores_only_its_start(mailbox, sent, settings):
    karin = sent["karin"]
    dsn = samples.hard_dsn(
        recipient=karin.email, message_id=karin.message_id, to=verp_address(delivery_id=karin.pk)
    )
    padding = (b"A" * 998 + b"\r\n") * 3000  # 3 MB of text in the human-readable part
    huge = dsn.replace(b"\r\n\r\nThis is", b"\r\n\r\n" + padding + b"This is", 1)
    assert len(huge) > settings.BOUNCE_MESSAGE_MAX_BYTES
    mailbox.append(huge)

    result = bounce_mailbox_poll()

    karin.refresh_from_db()
    assert karin.bounced_at is None  # never parsed, so never applied
    kept = KeptBounceMessage.objects.get()
    assert kept.reason == "too_large" and kept.truncated
    assert kept.size == len(huge)
    assert len(bytes(kept.raw)) == settings.BOUNCE_KEPT_MAX_BYTES
    assert result.kept == 1
    assert mailbox.messages("Kept") == [huge]  # the whole message is still in the mailbox


def test_it_survives_a_message_bomb_of_nested_parts(mailbox, sent):
    depth = 3000
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n)
        for n in range(depth)
    )
    bomb = b"From: x@example.net\r\nTo: " + BOUNCES.encode() + b"\r\nSubject: bomb\r\n" + head
    mailbox.append(bomb)
    mailbox.append(samples.reader_reply(sender="maja@example.se", message_id="x@y", to=BOUNCES))

    result = bounce_mailbox_poll()

    assert result.kept == 2
    bomb_row = KeptBounceMessage.objects.get(subject="bomb")
    assert bomb_row.reason == "unreadable"
    assert mailbox.messages("INBOX") == []


def test_it_reads_a_flood_in_bounded_polls(mailbox, sent, settings):
    settings.BOUNCE_MAILBOX_BATCH = 10
    for n in range(25):
        mailbox.append(
            samples.reader_reply(sender=f"lasare{n}@example.se", message_id=f"{n}@x", to=BOUNCES)
        )

    polls = [bounce_mailbox_poll() for _ in range(3)]

    assert [(poll.kept, poll.left) for poll in polls] == [(10, 15), (10, 5), (5, 0)]
    assert KeptBounceMessage.objects.count() == 25
    assert len(mailbox.messages("Kept")) == 25


def test_erasure_leaves_no_copy_of_the_address_in_the_bounce_records(mailbox, sent):
    from subscribers.models import ConsentSource
    from subscribers.privacy import subscriber_erase
    from subscribers.services import RequestOrigin

    karin, maja = sent["karin"], sent["maja"]
    mailbox.append(
        samples.hard_dsn(
            recipient=karin.email,
            message_id=karin.message_id,
            to=verp_address(delivery_id=karin.pk),
        )
    )
    mailbox.append(samples.reader_reply(sender=karin.email, message_id="1@x", to=BOUNCES))
    mailbox.append(samples.reader_reply(sender=maja.email, message_id="2@x", to=BOUNCES))
    bounce_mailbox_poll()
    assert karin.email in Suppression.objects.for_address(karin.email).get().detail

    subscriber_erase(
        subscriber=Subscriber.objects.get(pk=karin.subscriber_id),
        origin=RequestOrigin(),
        source=ConsentSource.WEB,
    )

    suppression = Suppression.objects.get(email="")
    assert suppression.detail == "" and suppression.reason == "erased"
    assert [bytes(row.raw) for row in KeptBounceMessage.objects.all()] == [
        samples.reader_reply(sender=maja.email, message_id="2@x", to=BOUNCES)
    ]
    assert not SoftBounce.objects.exists()
