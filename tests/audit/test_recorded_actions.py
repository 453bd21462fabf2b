"""What staff, commands and the system do leaves exactly one audit entry per change, naming the
actor (a user; a command as the command line and the OS user) and the object by id and label,
never by a subscriber's address."""

import getpass
import io

import pytest
from django.contrib.admin import helpers
from django.core.management import call_command
from django.urls import reverse

from accounts.roles import ADMINISTRATORS, DISTRIBUTION_STAFF, EDITORS, role_groups_sync
from audit.models import ActorKind, AuditAction, AuditEntry
from newsletter.models import IssueStatus
from subscribers.models import Suppression, SuppressionReason
from tests.audit.trail import entries, the_entry, trail_text
from tests.dispatching import dispatch_add_confirmed
from tests.factories import (
    article_make,
    issue_make,
    segment_make,
    sendable_issue_make,
    staff_user_make,
    subscriber_make,
)
from tests.print_scenario import print_scenario_make
from worker.models import Dispatch, DispatchStatus

pytestmark = pytest.mark.django_db

READER_EMAIL = "maja.ek@jarfalla.se"


@pytest.fixture
def staff_client(client):
    role_groups_sync()

    def login(*groups: str):
        user = staff_user_make(username="-".join(groups).lower() or "personal", groups=groups)
        client.force_login(user)
        return client, user

    return login


def _action(client, changelist: str, action: str, pks, **extra):
    return client.post(
        reverse(changelist),
        {"action": action, helpers.ACTION_CHECKBOX_NAME: list(pks), "index": 0, **extra},
    )


def _command_label(command: str) -> str:
    return f"manage.py {command} (OS-användare {getpass.getuser()})"


def test_it_records_an_issue_status_change_by_the_editor(staff_client):
    client, editor = staff_client(EDITORS)
    issue = issue_make(year=2018, number=1)
    article_make(issue=issue)

    client.post(reverse("admin:newsletter_issue_transition", args=[issue.pk]), {"action": "ready"})

    issue.refresh_from_db()
    assert issue.status == IssueStatus.READY
    entry = the_entry(AuditAction.ISSUE_STATUS)
    assert (entry.actor_id, entry.object_id) == (editor.pk, str(issue.pk))
    assert entry.detail == {"from": IssueStatus.DRAFT, "to": IssueStatus.READY}


def test_it_records_nothing_for_a_refused_status_change(staff_client):
    client, _editor = staff_client(EDITORS)
    issue = issue_make(year=2018, number=1)  # a draft cannot be published

    client.post(
        reverse("admin:newsletter_issue_transition", args=[issue.pk]), {"action": "publish"}
    )

    assert not entries(AuditAction.ISSUE_STATUS)


def test_it_records_a_dispatch_created_in_the_admin_once_with_its_publication(staff_client):
    client, editor = staff_client(EDITORS)
    readers = segment_make(slug="lasare")
    subscriber_make(email=READER_EMAIL, segments=[readers])
    issue = sendable_issue_make()

    dispatch_add_confirmed(client, {"issue": issue.pk, "segments": [readers.pk]})

    dispatch = Dispatch.objects.get()
    entry = the_entry(AuditAction.DISPATCH_CREATE)
    assert (entry.actor_id, entry.object_id) == (editor.pk, str(dispatch.pk))
    assert entry.detail["segments"] == ["lasare"] and entry.detail["started"] is True
    assert not entries(AuditAction.DISPATCH_START)  # part of the one thing the editor did
    published = the_entry(AuditAction.ISSUE_STATUS)  # the web version went live with it
    assert published.actor_id == editor.pk
    assert published.detail["to"] == IssueStatus.PUBLISHED
    assert READER_EMAIL not in trail_text()


def test_it_records_pause_resume_and_cancel_from_the_admin_buttons(staff_client):
    client, editor = staff_client(EDITORS)
    subscriber_make(email=READER_EMAIL, segments=[segment_make(slug="lasare")])
    dispatch = Dispatch.objects.create(issue=sendable_issue_make(), status=DispatchStatus.SENDING)

    for action in ("pause", "resume", "cancel", "pause"):  # the last is refused
        client.post(reverse("admin:worker_dispatch_control", args=[dispatch.pk, action]))

    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.CANCELLED
    for action in (
        AuditAction.DISPATCH_PAUSE,
        AuditAction.DISPATCH_RESUME,
        AuditAction.DISPATCH_CANCEL,
    ):
        entry = the_entry(action)
        assert (entry.actor_id, entry.object_id) == (editor.pk, str(dispatch.pk))


def test_it_names_the_command_line_and_os_user_for_dispatch_control():
    subscriber_make(email=READER_EMAIL, segments=[segment_make(slug="lasare")])
    dispatch = Dispatch.objects.create(issue=sendable_issue_make())

    call_command("dispatch_control", str(dispatch.pk), "start", stdout=io.StringIO())
    call_command("dispatch_control", str(dispatch.pk), "resend", "--yes", stdout=io.StringIO())

    start = the_entry(AuditAction.DISPATCH_START)
    assert start.actor_kind == ActorKind.COMMAND
    assert start.actor_label == _command_label("dispatch_control")
    assert start.actor_id is None
    resend = the_entry(AuditAction.DISPATCH_RESEND)
    assert resend.detail == {"resend_of": dispatch.pk, "round": 1}
    assert resend.actor_label == _command_label("dispatch_control")


def test_it_records_a_scheduled_dispatch_started_by_the_system(settings):
    from datetime import timedelta

    from django.utils import timezone

    from worker.services import dispatch_create, dispatches_start_due

    subscriber_make(email=READER_EMAIL, segments=[segment_make(slug="lasare")])
    dispatch_create(
        issue=sendable_issue_make(),
        segment_slugs=["lasare"],
        scheduled_at=timezone.now() + timedelta(minutes=5),
    )
    assert the_entry(AuditAction.DISPATCH_CREATE).detail["started"] is False

    dispatches_start_due(now=timezone.now() + timedelta(minutes=6))

    assert the_entry(AuditAction.DISPATCH_START).actor_kind == ActorKind.SYSTEM


def test_it_records_a_test_send_by_counts_not_addresses(staff_client, smtp_server, settings):
    settings.EMAIL_URL = smtp_server.url
    client, editor = staff_client(EDITORS)
    issue = sendable_issue_make()
    subscriber_make(email=READER_EMAIL)

    client.post(
        reverse("admin:newsletter_issue_send_test", args=[issue.pk]),
        {"emails": f"{READER_EMAIL}, kollega@example.se"},
    )

    assert smtp_server.recipients()
    entry = the_entry(AuditAction.TEST_SEND)
    assert (entry.actor_id, entry.object_id) == (editor.pk, str(issue.pk))
    assert entry.detail == {"addresses": 2, "accepted": 2}
    assert READER_EMAIL not in trail_text()


def test_it_records_an_import_from_the_command_with_file_name_and_counts(tmp_path):
    segment_make(slug="folkbibliotek")
    path = tmp_path / "kontakter.csv"
    path.write_text(
        "e-post;namn;organisation;typ;kommun;adress;postnummer;postort;kanal;segment\n"
        f"{READER_EMAIL};Maja Ek;;;;;;;email;folkbibliotek\n"
        "per.holm@nacka.se;Per Holm;;;;;;;email;folkbibliotek\n",
        encoding="utf-8",
    )

    call_command("import_subscribers", str(path), stdout=io.StringIO())
    call_command("import_subscribers", str(path), "--dry-run", stdout=io.StringIO())

    entry = the_entry(AuditAction.IMPORT)  # the dry run wrote nothing and is not recorded
    assert entry.actor_label == _command_label("import_subscribers")
    assert entry.object_label == "kontakter.csv"
    assert entry.detail["created"] == 2 and entry.detail["updated"] == 0
    assert READER_EMAIL not in trail_text()


def test_it_records_the_subscriber_csv_export_with_its_row_count(staff_client):
    client, administrator = staff_client(ADMINISTRATORS)
    readers = [subscriber_make(email=READER_EMAIL), subscriber_make(email="per.holm@nacka.se")]

    response = _action(
        client,
        "admin:subscribers_subscriber_changelist",
        "subscribers_export_csv",
        [reader.pk for reader in readers],
    )

    assert response.status_code == 200
    entry = the_entry(AuditAction.SUBSCRIBER_EXPORT)
    assert entry.actor_id == administrator.pk
    assert entry.detail == {"rows": 2}


def test_it_records_nothing_for_an_export_refused_to_an_editor(staff_client):
    client, _editor = staff_client(EDITORS)
    reader = subscriber_make(email=READER_EMAIL)

    _action(
        client, "admin:subscribers_subscriber_changelist", "subscribers_export_csv", [reader.pk]
    )

    assert not entries(AuditAction.SUBSCRIBER_EXPORT)


def test_it_records_a_register_extract_and_an_erasure_by_id_only(staff_client):
    client, administrator = staff_client(ADMINISTRATORS)
    reader = subscriber_make(email=READER_EMAIL, name="Maja Ek")
    changelist = "admin:subscribers_subscriber_changelist"

    _action(client, changelist, "subscriber_export_action", [reader.pk])
    _action(client, changelist, "subscriber_erase_action", [reader.pk], erase_confirmed="yes")
    _action(client, changelist, "subscriber_erase_action", [reader.pk], erase_confirmed="yes")

    extract = the_entry(AuditAction.PERSONAL_DATA_EXPORT)
    erasure = the_entry(AuditAction.ERASURE)  # the second erasure changed nothing
    for entry in (extract, erasure):
        assert entry.actor_id == administrator.pk
        assert (entry.object_id, entry.object_label) == (str(reader.pk), f"prenumerant {reader.pk}")
    assert READER_EMAIL not in trail_text() and "Maja" not in trail_text()


def test_it_records_an_erasure_through_the_persons_own_link():
    from subscribers.consent import RequestOrigin
    from subscribers.models import PrivacyRequest, PrivacyRequestKind
    from subscribers.privacy_links import privacy_erase_carry_out

    reader = subscriber_make(email=READER_EMAIL)
    privacy_request = PrivacyRequest.objects.create(
        subscriber=reader, kind=PrivacyRequestKind.ERASE
    )

    privacy_erase_carry_out(privacy_request=privacy_request, origin=RequestOrigin())

    entry = the_entry(AuditAction.ERASURE)
    assert entry.actor_kind == ActorKind.PERSON
    assert entry.detail["privacy_request"] == privacy_request.pk


def test_it_records_suppressions_added_and_removed_in_the_admin(staff_client):
    client, administrator = staff_client(ADMINISTRATORS)

    client.post(
        reverse("admin:subscribers_suppression_add"),
        {"email": READER_EMAIL, "reason": SuppressionReason.MANUAL},
    )
    suppression = Suppression.objects.get()
    client.post(
        reverse("admin:subscribers_suppression_delete", args=[suppression.pk]), {"post": "yes"}
    )

    assert not Suppression.objects.exists()
    added, removed = (
        the_entry(AuditAction.SUPPRESSION_ADD),
        the_entry(AuditAction.SUPPRESSION_REMOVE),
    )
    for entry in (added, removed):
        assert entry.actor_id == administrator.pk
        assert entry.object_id == str(suppression.pk)
    assert READER_EMAIL not in trail_text()


def test_it_records_suppressions_removed_in_bulk_one_entry_each(staff_client):
    client, _administrator = staff_client(ADMINISTRATORS)
    pks = [
        Suppression.objects.create(email=email, reason=SuppressionReason.MANUAL).pk
        for email in (READER_EMAIL, "per.holm@nacka.se")
    ]

    _action(client, "admin:subscribers_suppression_changelist", "delete_selected", pks, post="yes")

    assert not Suppression.objects.exists()
    assert sorted(entry.object_id for entry in entries(AuditAction.SUPPRESSION_REMOVE)) == sorted(
        str(pk) for pk in pks
    )


def test_it_records_a_print_run_marked_final_and_each_print_export(staff_client, tmp_path):
    scenario = print_scenario_make()
    issue = scenario["issue"]
    client, distributor = staff_client(DISTRIBUTION_STAFF)

    client.post(
        reverse("printing:print_run_finalise", kwargs={"issue_slug": issue.slug}),
        {"allow_incomplete": "1"},
    )
    download = client.get(
        reverse(
            "printing:print_run_download",
            kwargs={"issue_slug": issue.slug, "export_format": "csv"},
        )
    )
    call_command(
        "export_print",
        issue.slug,
        "--format",
        "xlsx",
        "--output",
        str(tmp_path / "tryck.xlsx"),
        "--allow-incomplete",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )

    assert download.status_code == 200
    final = the_entry(AuditAction.PRINT_RUN_FINAL)
    assert final.actor_id == distributor.pk
    by_view, by_command = entries(AuditAction.PRINT_EXPORT)
    assert by_view.actor_id == distributor.pk
    assert by_view.detail["format"] == "csv" and by_view.detail["final"] is True
    assert by_view.detail["rows"] > 0
    assert by_command.actor_label == _command_label("export_print")
    assert by_command.detail["format"] == "xlsx"


def test_it_keeps_every_entry_when_the_actor_account_is_deleted(staff_client):
    client, editor = staff_client(EDITORS)
    issue = issue_make(year=2018, number=1)
    article_make(issue=issue)
    client.post(reverse("admin:newsletter_issue_transition", args=[issue.pk]), {"action": "ready"})

    editor_id = editor.pk

    editor.delete()

    entry = the_entry(AuditAction.ISSUE_STATUS)
    assert (entry.actor_id, entry.actor_label) == (editor_id, "redaktörer")
    assert AuditEntry.objects.filter(actor_id=editor_id).count() >= 2  # login and status


def test_it_names_the_uploader_of_an_admin_import_run_as_a_job(staff_client):
    from subscribers.importing.jobs import import_job_create, import_job_run

    _client, administrator = staff_client(ADMINISTRATORS)
    content = (
        "e-post;namn;organisation;typ;kommun;adress;postnummer;postort;kanal;segment\n"
        f"{READER_EMAIL};Maja Ek;;;;;;;email;\n"
        "fel@@example.se;Fel Adress;;;;;;;email;\n"
    ).encode()
    good = content.rsplit(b"fel@@", 1)[0]
    for upload, filename in ((content, "med-fel.csv"), (good, "kontakter.csv")):
        job = import_job_create(
            content=upload,
            filename=filename,
            segment_slugs=[],
            update=False,
            dry_run=False,
            staff_user=administrator,
            language="sv",
        )
        import_job_run(job_id=job.pk)

    entry = the_entry(AuditAction.IMPORT)  # the file with an error wrote nothing
    assert entry.actor_id == administrator.pk
    assert entry.object_label == "kontakter.csv"
    assert entry.detail["created"] == 1
