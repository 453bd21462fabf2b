"""The report of a dispatch that really ran: Celery workers, an SMTP server on loopback, a
bounce through process_bounces and unsubscribes through the links in the received messages."""

from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.roles import EDITORS
from subscribers.models import ConsentAction, ConsentEvent, SubscriberStatus
from subscribers.tokens import UNSUBSCRIBE, token_make
from tests.factories import segment_make, sendable_issue_make, staff_user_make, subscriber_make
from tests.sending.test_sending_bounces import _dsn
from tests.workers import wait_until
from worker.models import Delivery, Dispatch, DispatchStatus
from worker.reports import Outcomes, dispatch_report, issue_report

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _list_unsubscribe(smtp_server, address: str) -> str:
    (message,) = smtp_server.parsed(address)
    return message["List-Unsubscribe"].split(",")[0].strip().strip("<>")


def test_the_report_counts_exactly_what_happened_to_a_real_dispatch(
    celery_workers, smtp_server, tmp_path
):
    libraries = segment_make(slug="bibliotek", name="Bibliotek")
    politics = segment_make(slug="politik", name="Politiker")
    for name in ("karin", "per", "lena", "gammal"):
        subscriber_make(email=f"{name}@bibliotek.example.se", segments=[libraries])
    subscriber_make(email="finns-inte@bibliotek.example.se", segments=[libraries])
    subscriber_make(email="ledamot@region.example.se", segments=[politics])
    smtp_server.fail_always["finns-inte@bibliotek.example.se"] = "550 5.1.1 Mailbox does not exist"
    issue = sendable_issue_make()
    celery_workers.start()

    call_command("send_issue", issue.slug, "--all-segments")
    dispatch = Dispatch.objects.get()
    wait_until(
        lambda: Dispatch.objects.get(pk=dispatch.pk).status == DispatchStatus.DONE,
        message="the dispatch did not finish",
    )

    # The politician leaves by the mail program's one-click button (RFC 8058)...
    one_click = _list_unsubscribe(smtp_server, "ledamot@region.example.se")
    response = Client().post(
        urlsplit(one_click).path,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    # ...the same person again from the link in the text: one unsubscribe, not two.
    assert Client().post(urlsplit(one_click).path).status_code == 200
    # Lena uses a link from a message sent before links named their dispatch: it still
    # works, and counts against no issue.
    lena = Delivery.objects.get(email="lena@bibliotek.example.se")
    old_token = token_make(purpose=UNSUBSCRIBE, subscriber_id=lena.subscriber_id, email=lena.email)
    assert Client().post(f"/avregistrera/{old_token}/").status_code == 200
    assert lena.subscriber.__class__.objects.get(pk=lena.subscriber_id).status == (
        SubscriberStatus.UNSUBSCRIBED
    )
    # A DSN comes back for an old address.
    gammal = Delivery.objects.get(email="gammal@bibliotek.example.se")
    dsn = tmp_path / "bounce.eml"
    dsn.write_bytes(_dsn(recipient=gammal.email, message_id=gammal.message_id))
    call_command("process_bounces", str(dsn))
    # A complaint (the complaint handling sets this; it is built on another branch).
    Delivery.objects.filter(email="karin@bibliotek.example.se").update(complained_at=timezone.now())

    report = dispatch_report(dispatch=dispatch)

    assert report.planned == 6
    assert report.totals == Outcomes(sent=5, failed=1, bounced=1, complained=1, unsubscribed=1)
    event = ConsentEvent.objects.get(
        action=ConsentAction.UNSUBSCRIBE, subscriber__email="ledamot@region.example.se"
    )
    assert event.detail["dispatch_id"] == dispatch.pk
    # Everything happened within minutes: one row per hour, adding up to the totals.
    assert report.hourly
    rows = [row.outcomes.as_tuple() for row in report.periods]
    summed = [sum(values) for values in zip(*rows, strict=True)]
    assert summed == list(report.totals.as_tuple())
    assert {row.segment.slug: row.outcomes for row in report.segments} == {
        "bibliotek": Outcomes(sent=4, failed=1, bounced=1, complained=1),
        "politik": Outcomes(sent=1, unsubscribed=1),
    }
    assert issue_report(issue=issue).totals == report.totals

    editor = Client()
    editor.force_login(staff_user_make(username="redaktor", groups=[EDITORS]))
    page = editor.get(f"/personal/rapport/utskick/{dispatch.pk}/").content.decode()
    assert '<tr><th scope="row">Skickade</th><td class="number">5</td></tr>' in page
    assert '<tr><th scope="row">Avregistrerade</th><td class="number">1</td></tr>' in page
