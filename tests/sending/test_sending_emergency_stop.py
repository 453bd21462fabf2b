"""The emergency stop with real workers: every sending dispatch held within seconds, nothing
more out until resumed, then every recipient exactly once; who pulled it is in the trail."""

import collections
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.roles import EDITORS
from audit.models import AuditAction, AuditEntry
from tests.factories import segment_make, sendable_issue_make, staff_user_make, subscriber_make
from tests.sending.test_sending_controls import BATCH_SIZE, POOL, settled_count
from tests.workers import wait_until
from worker.models import Dispatch, DispatchStatus
from worker.services import dispatch_create, dispatch_pause

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _two_dispatches_sending(smtp_server, celery_workers, *, people: int = 120):
    libraries, politicians = segment_make(slug="bibliotek"), segment_make(slug="politiker")
    for n in range(people):
        subscriber_make(email=f"bibliotek{n}@example.se", segments=[libraries])
        subscriber_make(email=f"politiker{n}@example.se", segments=[politicians])
    first = sendable_issue_make(slug="2018-1", title="Länsnytt 2018:1")
    second = sendable_issue_make(slug="2018-2", title="Länsnytt 2018:2")
    smtp_server.delay = 0.02
    celery_workers.start()
    one = dispatch_create(issue=first, segment_slugs=["bibliotek"])
    two = dispatch_create(issue=second, segment_slugs=["politiker"])
    wait_until(
        lambda: {m["Subject"].split(":")[0] for m in smtp_server.messages()} >= {"Länsnytt 2018"},
        message="sending never started",
    )
    wait_until(lambda: len(smtp_server.recipients()) >= 20, message="too little sent")
    return one, two


def test_the_command_holds_every_dispatch_and_resume_finishes_them_once(
    celery_workers, smtp_server
):
    one, two = _two_dispatches_sending(smtp_server, celery_workers)

    out = io.StringIO()
    call_command("dispatch_control", "--all", "pause", stdout=out)
    at_stop = len(smtp_server.recipients())
    held = settled_count(smtp_server)

    print(f"injected: emergency stop after {at_stop} messages; {held - at_stop} more arrived")
    assert "Nödstopp: 2 utskick pausade" in out.getvalue()
    # Each running batch notices within SEND_STATUS_CHECK_EVERY messages.
    assert held - at_stop <= 2 * POOL * BATCH_SIZE
    assert held < 240
    assert set(Dispatch.objects.values_list("status", flat=True)) == {DispatchStatus.PAUSED}
    assert settled_count(smtp_server, quiet=3) == held  # and it stays held

    call_command("dispatch_control", "--all", "resume", stdout=io.StringIO())
    wait_until(lambda: len(smtp_server.recipients()) >= 240, timeout=120, message="not resumed")
    wait_until(
        lambda: set(Dispatch.objects.values_list("status", flat=True)) == {DispatchStatus.DONE},
        message="the dispatches never finished",
    )
    counts = collections.Counter(smtp_server.recipients())
    assert len(counts) == 240 and max(counts.values()) == 1
    stop = AuditEntry.objects.get(action=AuditAction.EMERGENCY_STOP)
    assert stop.actor_kind == "command" and "dispatch_control --all pause" in stop.actor_label
    assert sorted(stop.detail["paused"]) == sorted([one.pk, two.pk])
    assert AuditEntry.objects.filter(action=AuditAction.EMERGENCY_RESUME).count() == 1


def test_resume_all_leaves_alone_a_dispatch_an_editor_had_paused(celery_workers, smtp_server):
    one, two = _two_dispatches_sending(smtp_server, celery_workers)
    dispatch_pause(dispatch=one)

    call_command("dispatch_control", "--all", "pause", stdout=io.StringIO())
    call_command("dispatch_control", "--all", "resume", stdout=io.StringIO())

    wait_until(
        lambda: Dispatch.objects.get(pk=two.pk).status == DispatchStatus.DONE,
        timeout=120,
        message="the stopped dispatch was not resumed",
    )
    one.refresh_from_db()
    assert one.status == DispatchStatus.PAUSED and one.status_reason == "Pausat av redaktör."


def test_an_editor_pulls_the_stop_from_the_admin(celery_workers, smtp_server, client):
    _two_dispatches_sending(smtp_server, celery_workers)
    editor = staff_user_make(username="redaktor", groups=[EDITORS])
    client.force_login(editor)
    page = client.get(reverse("admin:worker_dispatch_emergency"))
    assert page.status_code == 200 and "Pausa alla 2 utskick nu" in page.content.decode()

    response = client.post(reverse("admin:worker_dispatch_emergency"), {"action": "pause"})

    assert response.status_code == 302
    held = settled_count(smtp_server)
    assert set(Dispatch.objects.values_list("status", flat=True)) == {DispatchStatus.PAUSED}
    assert settled_count(smtp_server, quiet=3) == held
    assert AuditEntry.objects.get(action=AuditAction.EMERGENCY_STOP).actor_id == editor.pk


def test_someone_who_may_not_send_cannot_pull_the_stop(client):
    client.force_login(staff_user_make(username="tryck", groups=[]))

    assert client.get(reverse("admin:worker_dispatch_emergency")).status_code == 403
    assert (
        client.post(reverse("admin:worker_dispatch_emergency"), {"action": "pause"}).status_code
        == 403
    )
    assert not AuditEntry.objects.filter(action=AuditAction.EMERGENCY_STOP).exists()


def test_the_command_refuses_anything_but_pause_or_resume_with_all(db):
    from django.core.management.base import CommandError

    for words in (["cancel"], ["1", "pause"], ["resend"]):
        with pytest.raises(CommandError, match="Med --all går bara pause eller resume"):
            call_command("dispatch_control", "--all", *words)
    with pytest.raises(CommandError, match="Ange ett utskicks id"):
        call_command("dispatch_control", "pause")
