"""SMTP errors: 4xx is tried again later, 5xx is final, and too many failures pause."""

import pytest
from django.core.management import call_command

from subscribers.models import Subscriber, SubscriberStatus, Suppression
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.workers import wait_until
from worker.models import Delivery, DeliveryStatus, Dispatch, DispatchStatus

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def finished(dispatch_id: int):
    dispatch = Dispatch.objects.get(pk=dispatch_id)
    return dispatch if dispatch.is_final or dispatch.status == DispatchStatus.PAUSED else None


def test_it_delivers_once_after_a_temporary_refusal(celery_workers, smtp_server):
    readers = segment_make(slug="lasare")
    subscriber_make(email="forst@example.se", segments=[readers])
    busy = subscriber_make(email="upptagen@example.se", segments=[readers])
    smtp_server.fail_once[busy.email] = "451 4.7.1 Försök igen senare"
    issue = sendable_issue_make()
    celery_workers.start()

    call_command("send_issue", issue.slug)

    dispatch = wait_until(lambda: finished(Dispatch.objects.get().pk), message="not finished")
    assert dispatch.status == DispatchStatus.DONE
    assert smtp_server.recipients().count(busy.email) == 1
    assert smtp_server.attempts[busy.email] == 2
    delivery = Delivery.objects.get(subscriber=busy)
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 2


def test_it_fails_a_permanent_refusal_without_retrying_and_suppresses_unknown_users(
    celery_workers, smtp_server
):
    readers = segment_make(slug="lasare")
    subscriber_make(email="finns@example.se", segments=[readers])
    gone = subscriber_make(email="finns.inte@example.se", segments=[readers])
    smtp_server.fail_always[gone.email] = "550 5.1.1 Mailbox does not exist"
    issue = sendable_issue_make()
    celery_workers.start()

    call_command("send_issue", issue.slug)

    dispatch = wait_until(lambda: finished(Dispatch.objects.get().pk), message="not finished")
    assert dispatch.status == DispatchStatus.DONE
    assert "1 leveranser misslyckades" in dispatch.status_reason
    assert smtp_server.attempts[gone.email] == 1
    delivery = Delivery.objects.get(subscriber=gone)
    assert delivery.status == DeliveryStatus.FAILED
    assert "5.1.1" in delivery.smtp_reply
    assert Subscriber.objects.get(pk=gone.pk).status == SubscriberStatus.BOUNCED
    assert Suppression.objects.filter(email=gone.email, reason="bounced").exists()


def test_it_ends_as_failed_when_the_server_refused_every_message(celery_workers, smtp_server):
    readers = segment_make(slug="lasare")
    for n in range(3):
        person = subscriber_make(email=f"person{n}@example.se", segments=[readers])
        smtp_server.fail_always[person.email] = "554 5.7.1 Rejected by policy"
    issue = sendable_issue_make()
    celery_workers.start()

    call_command("send_issue", issue.slug)

    dispatch = wait_until(lambda: finished(Dispatch.objects.get().pk), message="not finished")
    assert dispatch.status == DispatchStatus.FAILED
    assert "3 leveranser misslyckades" in dispatch.status_reason


def test_it_pauses_itself_when_most_deliveries_fail(celery_workers, smtp_server):
    readers = segment_make(slug="lasare")
    for n in range(100):
        person = subscriber_make(email=f"person{n}@example.se", segments=[readers])
        smtp_server.fail_always[person.email] = "554 5.7.1 Rejected by policy"
    issue = sendable_issue_make()
    celery_workers.start()

    call_command("send_issue", issue.slug)

    dispatch = wait_until(lambda: finished(Dispatch.objects.get().pk), message="not paused")
    assert dispatch.status == DispatchStatus.PAUSED
    assert "Pausat automatiskt" in dispatch.status_reason
    assert Delivery.objects.filter(status=DeliveryStatus.QUEUED).exists()


def test_it_waits_with_a_progress_bar_and_exits_non_zero_after_failures(
    celery_workers, smtp_server, capsys
):
    readers = segment_make(slug="lasare")
    subscriber_make(email="ok@example.se", segments=[readers])
    rejected = subscriber_make(email="nej@example.se", segments=[readers])
    smtp_server.fail_always[rejected.email] = "554 5.7.1 Rejected"
    issue = sendable_issue_make()
    celery_workers.start()

    with pytest.raises(SystemExit) as exit_info:
        call_command("send_issue", issue.slug, "--wait")

    assert exit_info.value.code == 1
    output = capsys.readouterr().out
    assert "100%" in output and "1 skickade, 1 misslyckade" in output


def test_it_waits_and_exits_normally_when_everyone_got_it(celery_workers, smtp_server, capsys):
    readers = segment_make(slug="lasare")
    subscriber_make(email="ok@example.se", segments=[readers])
    celery_workers.start()

    call_command("send_issue", sendable_issue_make().slug, "--wait")

    assert "1 skickade, 0 misslyckade" in capsys.readouterr().out
