"""What changes without a staff member at a page is in the trail too, once, naming who did it:
the system (auto-pause, a bounce, the purge of stale sign-ups), the person through a link
mailed to them (an unsubscribe, a confirmation that lifts their own suppression), a wrong
second factor at the login, and rights that go with a deleted account or group."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import EDITORS, role_groups_sync
from audit.models import ActorKind, AuditAction
from subscribers.models import Subscriber, SubscriberStatus, Suppression, SuppressionReason
from tests.accounts.staff import staff_make, totp_code, totp_enrol
from tests.audit.matrix_roles import assert_no_address, entries_since, last_entry_id
from tests.audit.trail import entries, the_entry
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.selfservice.links import unsubscribe_path
from worker.models import Delivery, DeliveryStatus, Dispatch, DispatchStatus

pytestmark = pytest.mark.django_db

READER_EMAIL = "maja.ek@jarfalla.se"


def test_it_records_an_automatic_pause_by_the_system_with_its_reason(settings):
    from worker.services import dispatch_pause_if_failing

    dispatch = Dispatch.objects.create(issue=sendable_issue_make(), status=DispatchStatus.SENDING)
    now = timezone.now()
    for number in range(settings.DISPATCH_FAILURE_WINDOW):
        reader = subscriber_make(email=f"person{number}@example.se")
        Delivery.objects.create(
            dispatch=dispatch,
            issue=dispatch.issue,
            subscriber=reader,
            email=reader.email,
            status=DeliveryStatus.FAILED,
            finished_at=now - timedelta(seconds=number),
        )

    assert dispatch_pause_if_failing(dispatch_id=dispatch.pk)
    assert not dispatch_pause_if_failing(dispatch_id=dispatch.pk)  # already paused

    entry = the_entry(AuditAction.DISPATCH_PAUSE)
    assert entry.actor_kind == ActorKind.SYSTEM
    assert entry.object_id == str(dispatch.pk)
    assert entry.detail["automatic"] is True
    assert entry.detail["failed"] == settings.DISPATCH_FAILURE_WINDOW
    assert_no_address(entries_since(0))


def test_it_records_the_suppression_of_a_bounced_address_by_the_system_once():
    from subscribers.services_bounce import subscriber_mark_bounced

    reader = subscriber_make(email=READER_EMAIL)
    for _ in range(2):  # the same bounce reported twice
        subscriber_mark_bounced(subscriber_id=reader.pk, email=reader.email, reply="550 5.1.1")

    entry = the_entry(AuditAction.SUPPRESSION_ADD)
    assert entry.actor_kind == ActorKind.SYSTEM
    assert entry.detail == {"reason": SuppressionReason.BOUNCED, "source": "smtp"}
    assert_no_address(entries_since(0))


def test_it_records_an_unsubscribe_by_the_person_and_the_lift_when_they_come_back(client):
    reader = subscriber_make(email=READER_EMAIL, segments=[segment_make(slug="nyheter")])

    for _ in range(2):  # the provider's one-click POST and the person's click
        Client().post(
            unsubscribe_path(reader),
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )

    added = the_entry(AuditAction.SUPPRESSION_ADD)
    assert added.actor_kind == ActorKind.PERSON
    assert added.detail == {"reason": SuppressionReason.UNSUBSCRIBED}

    from subscribers.consent import RequestOrigin
    from subscribers.services import subscriber_confirm

    # They sign up again and confirm: their own unsubscribe is lifted, by them.
    Subscriber.objects.filter(pk=reader.pk).update(status=SubscriberStatus.PENDING)
    reader.consent_events.create(action="subscribe", source="web")
    assert subscriber_confirm(subscriber=reader, origin=RequestOrigin())

    removed = the_entry(AuditAction.SUPPRESSION_REMOVE)
    assert removed.actor_kind == ActorKind.PERSON
    assert removed.object_id == added.object_id
    assert not Suppression.objects.exists()
    assert_no_address(entries_since(0))


def test_it_records_the_purge_of_stale_sign_ups_as_one_erasure_by_the_system():
    from subscribers.tasks import pending_signups_purge_task

    for number in range(3):
        stale = subscriber_make(email=f"glomd{number}@example.se", status=SubscriberStatus.PENDING)
        Subscriber.objects.filter(pk=stale.pk).update(
            created_at=timezone.now() - timedelta(days=90)
        )

    pending_signups_purge_task.apply()
    pending_signups_purge_task.apply()  # nothing left: no entry

    entry = the_entry(AuditAction.ERASURE)
    assert entry.actor_kind == ActorKind.SYSTEM
    assert entry.detail["pending_signups_deleted"] == 3
    assert_no_address(entries_since(0))


def test_it_records_a_wrong_second_factor_as_a_failed_login(settings):
    settings.STAFF_REQUIRE_2FA = True
    editor = staff_make(username="redaktor")
    device, _codes = totp_enrol(editor)
    client = Client()
    client.force_login(editor)
    before = last_entry_id()
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"

    client.post(reverse("twofactor:verify"), {"token": wrong, "next": "/admin/"})

    (entry,) = entries_since(before)
    assert entry.action == AuditAction.LOGIN_FAILED
    assert (entry.actor_id, entry.object_id) == (editor.pk, str(editor.pk))
    assert entry.detail == {"step": "second_factor"}


def test_it_records_the_roles_that_go_with_a_deleted_account_and_group():
    role_groups_sync()
    editor = staff_make(username="redaktor")
    editor.groups.add(Group.objects.get(name=EDITORS))
    special = Group.objects.create(name="Särskilda")
    special.user_set.add(staff_make(username="kollega"))
    before = last_entry_id()

    editor.delete()
    special.delete()

    account, group = entries_since(before)
    assert (account.action, account.object_label) == (AuditAction.ROLE_CHANGE, "redaktor")
    assert account.detail == {"change": "account_deleted", "names": [EDITORS]}
    assert (group.action, group.object_label) == (AuditAction.ROLE_CHANGE, "Särskilda")
    assert group.detail == {"change": "group_deleted", "names": ["kollega"]}
    assert len(entries(AuditAction.ROLE_CHANGE)) == 4  # the two additions and the deletions


def test_it_records_nothing_when_the_role_sync_after_migrate_finds_the_rights_in_place():
    role_groups_sync()
    before = last_entry_id()

    role_groups_sync()  # what every migrate does
    Group.objects.get(name=EDITORS).permissions.add(
        *Group.objects.get(name=EDITORS).permissions.all()
    )

    assert entries_since(before) == []
