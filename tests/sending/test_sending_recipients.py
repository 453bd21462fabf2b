"""Who gets the issue, and what the message looks like, through a real worker and SMTP server."""

import pytest
from django.core.management import call_command

from subscribers.models import Channel, SubscriberStatus, Suppression, SuppressionReason
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.workers import wait_until
from worker.models import Delivery, DeliveryStatus, Dispatch, DispatchStatus

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def dispatch_finished(dispatch_id: int) -> Dispatch | None:
    dispatch = Dispatch.objects.get(pk=dispatch_id)
    return dispatch if dispatch.is_final else None


def test_it_mails_every_eligible_recipient_exactly_once_and_nobody_else(
    celery_workers, smtp_server
):
    libraries = segment_make(slug="bibliotek")
    politics = segment_make(slug="politik")
    other = segment_make(slug="ovriga")
    eligible = [
        subscriber_make(email=f"bibliotekarie{n}@example.se", segments=[libraries])
        for n in range(25)
    ]
    in_both = subscriber_make(email="bada@example.se", segments=[libraries, politics])
    both_channels = subscriber_make(
        email="bada.kanaler@example.se", channel=Channel.BOTH, segments=[politics]
    )
    subscriber_make(
        email="avregistrerad@example.se", status=SubscriberStatus.UNSUBSCRIBED, segments=[libraries]
    )
    subscriber_make(email="tryck@example.se", channel=Channel.PRINT, segments=[libraries])
    subscriber_make(email="annat.segment@example.se", segments=[other])
    subscriber_make(
        email="vantar@example.se", status=SubscriberStatus.PENDING, segments=[libraries]
    )
    suppressed = subscriber_make(email="sparrad@example.se", segments=[libraries])
    Suppression.objects.create(email=suppressed.email, reason=SuppressionReason.MANUAL)
    issue = sendable_issue_make()
    celery_workers.start()

    call_command("send_issue", issue.slug, "--segment", "bibliotek", "--segment", "politik")

    dispatch = wait_until(
        lambda: dispatch_finished(Dispatch.objects.get().pk),
        timeout=60,
        message="dispatch did not finish",
    )
    expected = sorted([s.email for s in eligible] + [in_both.email, both_channels.email])
    assert dispatch.status == DispatchStatus.DONE
    assert sorted(smtp_server.recipients()) == expected
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == len(expected)


def test_it_sends_a_message_with_the_list_headers_and_both_parts(celery_workers, smtp_server):
    from django.conf import settings

    from subscribers.tokens import UNSUBSCRIBE, token_subscriber

    readers = segment_make(slug="lasare")
    asa = subscriber_make(email="asa.oberg@example.se", name="Åsa Öberg", segments=[readers])
    issue = sendable_issue_make(subject="Länsnytt 2018:1 – läsning för alla")
    celery_workers.start()

    call_command("send_issue", issue.slug)

    wait_until(lambda: dispatch_finished(Dispatch.objects.get().pk), message="not finished")
    [message] = smtp_server.parsed(asa.email)
    assert message["From"].addresses[0].display_name == "Länsnytt"
    assert message["To"].addresses[0].display_name == "Åsa Öberg"
    assert message["To"].addresses[0].addr_spec == asa.email
    assert message["Subject"] == "Länsnytt 2018:1 – läsning för alla"
    assert message["Date"].datetime is not None
    delivery = Delivery.objects.get(subscriber=asa)
    assert message["Message-ID"] == f"<{delivery.message_id}>"
    assert delivery.message_id.endswith("@localhost")
    assert "lansnytt.localhost" in message["List-Id"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith(settings.SITE_URL + "/avregistrera/")
    token = unsubscribe.rstrip("/").rsplit("/", 1)[1]
    assert token_subscriber(purpose=UNSUBSCRIBE, token=token) == asa
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hej Åsa Öberg!" in text and unsubscribe in text
    assert "Hej Åsa Öberg!" in html and "Meröppet i Sigtuna" in html
    assert "__LANSNYTT_" not in text + html
    assert delivery.smtp_reply.startswith("250 ")


def test_it_lets_no_name_inject_a_header(celery_workers, smtp_server):
    readers = segment_make(slug="lasare")
    sneaky = subscriber_make(
        email="eva@example.se",
        name="Eva\r\nBcc: spion@example.org\r\nX-Injected: ja",
        segments=[readers],
    )
    issue = sendable_issue_make(subject="Nytt nummer\r\nBcc: spion@example.org")
    celery_workers.start()

    call_command("send_issue", issue.slug)

    wait_until(lambda: dispatch_finished(Dispatch.objects.get().pk), message="not finished")
    assert smtp_server.recipients() == [sneaky.email]
    [message] = smtp_server.parsed(sneaky.email)
    assert message["Bcc"] is None
    assert message["X-Injected"] is None
    assert len(message.get_all("To")) == 1
    assert "Bcc" in message["To"].addresses[0].display_name  # kept as text, not as a header
    assert message["Subject"] == "Nytt nummer Bcc: spion@example.org"
