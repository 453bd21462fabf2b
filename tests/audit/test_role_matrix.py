"""Who may do what, role by role, through every staff page that changes something when posted:
each role is allowed or refused with its status code; an allowed change leaves exactly one
audit entry, of the right action and naming the user, and none of them holds an address; a
refused one changes nothing, records nothing and hands out no file.

The GET of every staff page is in test_role_matrix_pages.py, which also checks that every
POST-only page of the URLconf is one of the CASES here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import User
from accounts.roles import ADMINISTRATORS, DISTRIBUTION_STAFF, EDITORS
from audit.models import AuditAction
from newsletter.models import Issue, IssueStatus
from printing.models import PrintRun
from subscribers.models import ImportJob, Subscriber, Suppression, SuppressionReason
from tests.audit.matrix_objects import READER_EMAIL, colleague_make
from tests.audit.matrix_roles import (
    ROLES,
    assert_no_address,
    assert_sent_to_login,
    entries_since,
    last_entry_id,
    role_client,
)
from tests.factories import (
    article_make,
    issue_make,
    segment_make,
    sendable_issue_make,
    subscriber_make,
)
from tests.print_scenario import print_scenario_make
from worker.celery import app
from worker.models import Dispatch, DispatchStatus

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Cell:
    allowed: bool
    status: int


def ok(status: int) -> Cell:
    return Cell(True, status)


def no(status: int) -> Cell:
    return Cell(False, status)


LOGIN = no(302)  # anonymous, and an account without staff status (sent to the second step)
FORBIDDEN = no(403)
DONE = ok(302)  # done; back to the page it came from
GIVEN = ok(200)  # a file or a page handed out


def _row(*cells: Cell) -> dict[str, Cell]:
    assert len(cells) == len(ROLES)
    return dict(zip(ROLES, cells, strict=True))


@dataclass(frozen=True)
class Case:
    page: str  # the URL name, so that the pages matrix can check every POST page is here
    records: str | None  # the audit action an allowed change leaves, once
    cells: dict[str, Cell]
    arrange: Callable[[], dict]
    perform: Callable  # (client, arranged) -> response
    changed: Callable[[dict], bool]
    why_not_recorded: str = ""
    fixtures: tuple[str, ...] = field(default=())


# ---- arranging ------------------------------------------------------------------------


def _draft_issue() -> dict:
    issue = issue_make(year=2018, number=1)
    article_make(issue=issue)
    return {"issue": issue}


def _ready_issue() -> dict:
    return {"issue": sendable_issue_make()}


def _unapproved_issue() -> dict:
    # Made by no one (a fixture), so any editor may be its second pair of eyes.
    return {"issue": sendable_issue_make(approved=False)}


def _approve(client, a):
    from newsletter.approval import issue_current_version

    return client.post(
        reverse("admin:newsletter_issue_transition", args=[a["issue"].pk]),
        {"action": "approve", "version": issue_current_version(issue=a["issue"])},
    )


def _published_with_readers() -> dict:
    readers = segment_make(slug="lasare")
    subscriber_make(email=READER_EMAIL, segments=[readers])
    return {"issue": sendable_issue_make(status=IssueStatus.PUBLISHED), "segment": readers}


def _dispatch_in(status: str) -> Callable[[], dict]:
    def arrange() -> dict:
        arranged = _published_with_readers()
        arranged["dispatch"] = Dispatch.objects.create(issue=arranged["issue"], status=status)
        return arranged

    return arrange


def _emergency_stopped() -> dict:
    arranged = _published_with_readers()
    arranged["dispatch"] = Dispatch.objects.create(
        issue=arranged["issue"], status=DispatchStatus.PAUSED, emergency_stopped=True
    )
    return arranged


def _colleague() -> dict:
    return {"target": colleague_make()}


def _suppressed() -> dict:
    return {
        "suppression": Suppression.objects.create(
            email=READER_EMAIL, reason=SuppressionReason.MANUAL
        )
    }


def _special_group() -> dict:
    return {"group": Group.objects.create(name="Särskilda")}


# ---- performing -----------------------------------------------------------------------


def _transition(action: str):
    return lambda client, a: client.post(
        reverse("admin:newsletter_issue_transition", args=[a["issue"].pk]), {"action": action}
    )


def _control(action: str):
    return lambda client, a: client.post(
        reverse("admin:worker_dispatch_control", args=[a["dispatch"].pk, action])
    )


def _confirmed(url_of, data_of=lambda a: {}):
    """POST, then confirm on the confirmation page as the editor does (dispatch create and
    resend ask first); a role refused before the page gets the refusal."""

    def perform(client, a):
        url, data = url_of(a), data_of(a)
        page = client.post(url, data)
        found = re.search(rb'name="_confirmed_version" value="([0-9a-f]+)"', page.content)
        if found is None:
            return page
        return client.post(url, {**data, "_confirmed_version": found.group(1).decode()})

    return perform


def _emergency(action: str):
    return lambda client, a: client.post(
        reverse("admin:worker_dispatch_emergency"), {"action": action}
    )


def _status(model, pk) -> str:
    return model.objects.get(pk=pk).status


def _user_form(target: User, **changes) -> dict:
    """The admin's user form as an administrator's browser posts it (no superuser-only
    fields: those are not in the page they get)."""
    data = {
        "username": target.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "is_staff": "on" if target.is_staff else "",
        "groups": [str(pk) for pk in target.groups.values_list("pk", flat=True)],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "08:00:00",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def _post_user(**changes):
    return lambda client, a: client.post(
        reverse("admin:accounts_user_change", args=[a["target"].pk]),
        _user_form(a["target"], **changes),
    )


def _import(client, a):
    from django.test import TestCase

    upload = SimpleUploadedFile(
        "kontakter.csv",
        b"e-post;namn\nmaja.ek@jarfalla.se;Maja Ek\nper.holm@nacka.se;Per Holm\n",
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(reverse("admin:subscribers_subscriber_import"), {"file": upload})


_EDITING = _row(LOGIN, LOGIN, FORBIDDEN, DONE, FORBIDDEN, DONE, DONE)
_ADMINISTRATION = _row(LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, DONE, DONE)
_SUPERUSER_ONLY = _row(LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, DONE)

# What each role may change through the staff pages, and the entry it leaves:
#   anonymous  non-staff  staff  editor  distribution  administrator  superuser
CASES: dict[str, Case] = {
    "issue_mark_ready": Case(
        page="admin:newsletter_issue_transition",
        records=AuditAction.ISSUE_STATUS,
        cells=_EDITING,
        arrange=_draft_issue,
        perform=_transition("ready"),
        changed=lambda a: _status(Issue, a["issue"].pk) == IssueStatus.READY,
    ),
    "issue_publish": Case(
        page="admin:newsletter_issue_transition",
        records=AuditAction.ISSUE_STATUS,
        cells=_EDITING,
        arrange=_ready_issue,
        perform=_transition("publish"),
        changed=lambda a: _status(Issue, a["issue"].pk) == IssueStatus.PUBLISHED,
    ),
    "issue_reopen": Case(
        page="admin:newsletter_issue_transition",
        records=AuditAction.ISSUE_STATUS,
        cells=_EDITING,
        arrange=_ready_issue,
        perform=_transition("reopen"),
        changed=lambda a: _status(Issue, a["issue"].pk) == IssueStatus.DRAFT,
    ),
    # The right to approve is the editors' (and administrators'); distribution staff may
    # view issues but a forged approval is refused.
    "issue_approve": Case(
        page="admin:newsletter_issue_transition",
        records=AuditAction.ISSUE_APPROVE,
        cells=_EDITING,
        arrange=_unapproved_issue,
        perform=_approve,
        changed=lambda a: bool(Issue.objects.get(pk=a["issue"].pk).approved_version),
    ),
    "issue_send_test": Case(
        page="admin:newsletter_issue_send_test",
        records=AuditAction.TEST_SEND,
        cells=_EDITING,
        arrange=_ready_issue,
        perform=lambda client, a: client.post(
            reverse("admin:newsletter_issue_send_test", args=[a["issue"].pk]),
            {"emails": f"{READER_EMAIL}, kollega@example.se"},
        ),
        changed=lambda a: bool(a["smtp_server"].recipients()),
        fixtures=("smtp_server",),
    ),
    "issue_link_check": Case(
        page="admin:newsletter_issue_link_check",
        records=None,
        why_not_recorded="starts a check of the issue's links; it changes no data",
        cells=_EDITING,
        arrange=_ready_issue,
        perform=lambda client, a: client.post(
            reverse("admin:newsletter_issue_link_check", args=[a["issue"].pk])
        ),
        changed=lambda a: a["issue"].link_checks.exists(),
    ),
    "issue_move_article": Case(
        page="admin:newsletter_issue_move_article",
        records=None,
        why_not_recorded="composing an issue is not in the trail (the admin's history has it)",
        cells=_EDITING,
        # Unapproved: moving an approved issue's articles withdraws the approval, an entry of
        # its own (tests/composing/test_issue_approval.py).
        arrange=_unapproved_issue,
        perform=lambda client, a: client.post(
            reverse(
                "admin:newsletter_issue_move_article",
                args=[a["issue"].pk, a["issue"].articles.order_by("position").first().pk],
            ),
            {"direction": "down"},
        ),
        changed=lambda a: (
            a["issue"].articles.order_by("position").first().heading != "Meröppet i Sigtuna"
        ),
    ),
    "dispatch_create": Case(
        page="admin:worker_dispatch_add",
        records=AuditAction.DISPATCH_CREATE,
        cells=_EDITING,
        arrange=_published_with_readers,
        perform=_confirmed(
            lambda a: reverse("admin:worker_dispatch_add"),
            lambda a: {"issue": a["issue"].pk, "segments": [a["segment"].pk]},
        ),
        changed=lambda a: Dispatch.objects.exists(),
    ),
    "dispatch_start": Case(
        page="admin:worker_dispatch_control",
        records=AuditAction.DISPATCH_START,
        cells=_EDITING,
        arrange=_dispatch_in(DispatchStatus.PLANNED),
        perform=_control("start"),
        changed=lambda a: _status(Dispatch, a["dispatch"].pk) == DispatchStatus.SENDING,
    ),
    "dispatch_pause": Case(
        page="admin:worker_dispatch_control",
        records=AuditAction.DISPATCH_PAUSE,
        cells=_EDITING,
        arrange=_dispatch_in(DispatchStatus.SENDING),
        perform=_control("pause"),
        changed=lambda a: _status(Dispatch, a["dispatch"].pk) == DispatchStatus.PAUSED,
    ),
    "dispatch_resume": Case(
        page="admin:worker_dispatch_control",
        records=AuditAction.DISPATCH_RESUME,
        cells=_EDITING,
        arrange=_dispatch_in(DispatchStatus.PAUSED),
        perform=_control("resume"),
        changed=lambda a: _status(Dispatch, a["dispatch"].pk) == DispatchStatus.SENDING,
    ),
    "dispatch_cancel": Case(
        page="admin:worker_dispatch_control",
        records=AuditAction.DISPATCH_CANCEL,
        cells=_EDITING,
        arrange=_dispatch_in(DispatchStatus.SENDING),
        perform=_control("cancel"),
        changed=lambda a: _status(Dispatch, a["dispatch"].pk) == DispatchStatus.CANCELLED,
    ),
    "dispatch_resend": Case(
        page="admin:worker_dispatch_control",
        records=AuditAction.DISPATCH_RESEND,
        cells=_EDITING,
        arrange=_dispatch_in(DispatchStatus.DONE),
        perform=_confirmed(
            lambda a: reverse("admin:worker_dispatch_control", args=[a["dispatch"].pk, "resend"])
        ),
        changed=lambda a: Dispatch.objects.filter(resend_of=a["dispatch"]).exists(),
    ),
    "dispatches_emergency_stop": Case(
        page="admin:worker_dispatch_emergency",
        records=AuditAction.EMERGENCY_STOP,
        cells=_EDITING,
        arrange=_dispatch_in(DispatchStatus.SENDING),
        perform=_emergency("pause"),
        changed=lambda a: _status(Dispatch, a["dispatch"].pk) == DispatchStatus.PAUSED,
    ),
    "dispatches_emergency_resume": Case(
        page="admin:worker_dispatch_emergency",
        records=AuditAction.EMERGENCY_RESUME,
        cells=_EDITING,
        arrange=_emergency_stopped,
        perform=_emergency("resume"),
        changed=lambda a: _status(Dispatch, a["dispatch"].pk) == DispatchStatus.SENDING,
    ),
    "subscriber_import": Case(
        page="admin:subscribers_subscriber_import",
        records=AuditAction.IMPORT,
        cells=_ADMINISTRATION,
        arrange=lambda: {},
        perform=_import,
        changed=lambda a: ImportJob.objects.exists() or Subscriber.objects.exists(),
        fixtures=("in_process",),
    ),
    "suppression_add": Case(
        page="admin:subscribers_suppression_add",
        records=AuditAction.SUPPRESSION_ADD,
        cells=_ADMINISTRATION,
        arrange=lambda: {},
        perform=lambda client, a: client.post(
            reverse("admin:subscribers_suppression_add"),
            {"email": "sparr@example.se", "reason": SuppressionReason.MANUAL},
        ),
        changed=lambda a: Suppression.objects.exists(),
    ),
    "suppression_lift": Case(
        page="admin:subscribers_suppression_delete",
        records=AuditAction.SUPPRESSION_REMOVE,
        cells=_ADMINISTRATION,
        arrange=_suppressed,
        perform=lambda client, a: client.post(
            reverse("admin:subscribers_suppression_delete", args=[a["suppression"].pk]),
            {"post": "yes"},
        ),
        changed=lambda a: not Suppression.objects.exists(),
    ),
    # Deleting a person in the admin is their erasure (the row stays, anonymised).
    "subscriber_delete": Case(
        page="admin:subscribers_subscriber_delete",
        records=AuditAction.ERASURE,
        cells=_ADMINISTRATION,
        arrange=lambda: {"reader": subscriber_make(email=READER_EMAIL)},
        perform=lambda client, a: client.post(
            reverse("admin:subscribers_subscriber_delete", args=[a["reader"].pk]),
            {"post": "yes"},
        ),
        changed=lambda a: _status(Subscriber, a["reader"].pk) == "erased",
    ),
    "print_run_finalise": Case(
        page="printing:print_run_finalise",
        records=AuditAction.PRINT_RUN_FINAL,
        cells=_row(LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, DONE, DONE, DONE),
        arrange=lambda: print_scenario_make(),
        perform=lambda client, a: client.post(
            reverse("printing:print_run_finalise", kwargs={"issue_slug": a["issue"].slug}),
            {"allow_incomplete": "1"},
        ),
        changed=lambda a: PrintRun.objects.exists(),
    ),
    "user_role_give": Case(
        page="admin:accounts_user_change",
        records=AuditAction.ROLE_CHANGE,
        cells=_ADMINISTRATION,
        arrange=_colleague,
        perform=lambda client, a: client.post(
            reverse("admin:accounts_user_change", args=[a["target"].pk]),
            _user_form(a["target"], groups=[str(Group.objects.get(name=EDITORS).pk)]),
        ),
        changed=lambda a: a["target"].groups.filter(name=EDITORS).exists(),
    ),
    "user_staff_status_take": Case(
        page="admin:accounts_user_change",
        records=AuditAction.STATUS_FLAGS_CHANGE,
        cells=_ADMINISTRATION,
        arrange=_colleague,
        perform=_post_user(is_staff=""),
        changed=lambda a: not User.objects.get(pk=a["target"].pk).is_staff,
    ),
    # A right outside the groups, and what a group grants: only a superuser (an
    # administrator's forged POST of the field gets 403, accounts/admin.py).
    "user_permission_give": Case(
        page="admin:accounts_user_change",
        records=AuditAction.PERMISSION_CHANGE,
        cells=_SUPERUSER_ONLY,
        arrange=_colleague,
        perform=lambda client, a: client.post(
            reverse("admin:accounts_user_change", args=[a["target"].pk]),
            _user_form(
                a["target"],
                user_permissions=[str(Permission.objects.get(codename="export_personal_data").pk)],
            ),
        ),
        changed=lambda a: a["target"].user_permissions.exists(),
    ),
    "group_permission_give": Case(
        page="admin:auth_group_change",
        records=AuditAction.PERMISSION_CHANGE,
        cells=_SUPERUSER_ONLY,
        arrange=_special_group,
        perform=lambda client, a: client.post(
            reverse("admin:auth_group_change", args=[a["group"].pk]),
            {
                "name": "Särskilda",
                "permissions": [str(Permission.objects.get(codename="export_print").pk)],
            },
        ),
        changed=lambda a: a["group"].permissions.exists(),
    ),
}

# Pages that take only POST and are all in CASES (the pages matrix checks this list).
POST_PAGES = {case.page for case in CASES.values()}


@pytest.fixture
def in_process():
    """Tasks run in the process that enqueues them, as without REDIS_URL (the import test's
    own fixture: the Celery app read its configuration once)."""
    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was_eager


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_it_allows_or_refuses_each_role_and_records_only_what_was_done(
    request, settings, name, role
):
    case = CASES[name]
    client, user = role_client(role, settings)
    arranged = case.arrange()
    for fixture in case.fixtures:
        arranged[fixture] = request.getfixturevalue(fixture)
    if "smtp_server" in arranged:
        settings.EMAIL_URL = arranged["smtp_server"].url
    before = last_entry_id()

    response = case.perform(client, arranged)

    made = entries_since(before)
    assert_no_address(made)
    cell = case.cells[role]
    assert response.status_code == cell.status, getattr(response, "content", b"")[:300]
    if not cell.allowed and cell.status == 302:
        assert_sent_to_login(role, response)
    if cell.allowed:
        assert case.changed(arranged)
        if case.records is None:
            assert case.why_not_recorded
            assert made == []
        else:
            assert [entry.action for entry in made] == [case.records], made
            assert made[0].actor_id == user.pk
    else:
        assert made == []
        assert not case.changed(arranged)
        # Nothing handed out either: no CSV, spreadsheet or PDF in the refusal.
        assert response.get("Content-Disposition") is None


def test_it_refuses_the_print_pages_to_an_account_whose_staff_status_was_taken(settings):
    """Taking away staff status ends what the account can reach, although it keeps its
    group, its app and a session that is already past the second step."""
    scenario = print_scenario_make()
    client, former = role_client("distribution", settings)
    User.objects.filter(pk=former.pk).update(is_staff=False)
    kwargs = {"issue_slug": scenario["issue"].slug}
    before = last_entry_id()

    page = client.get(reverse("printing:print_run", kwargs=kwargs))
    download = client.get(
        reverse("printing:print_run_download", kwargs={**kwargs, "export_format": "csv"})
    )
    finalise = client.post(
        reverse("printing:print_run_finalise", kwargs=kwargs), {"allow_incomplete": "1"}
    )

    assert [page.status_code, download.status_code, finalise.status_code] == [302, 302, 302]
    assert download.get("Content-Disposition") is None
    assert not PrintRun.objects.exists()
    assert entries_since(before) == []
    assert DISTRIBUTION_STAFF in former.groups.values_list("name", flat=True)


def test_it_keeps_rights_given_through_the_admin_within_the_givers_own(settings):
    """An administrator cannot make anyone an administrator's peer in a group granting more
    than they hold: a group given auth rights is refused with a form error, nothing changes."""
    client, _administrator = role_client("administrator", settings)
    target = colleague_make()
    mighty = Group.objects.create(name="Behörighetsgivare")
    mighty.permissions.add(Permission.objects.get(codename="change_group"))
    before = last_entry_id()

    response = client.post(
        reverse("admin:accounts_user_change", args=[target.pk]),
        _user_form(target, groups=[str(mighty.pk)]),
    )

    assert response.status_code == 200  # the form again, with the error
    assert not target.groups.exists()
    assert entries_since(before) == []
    assert ADMINISTRATORS not in target.groups.values_list("name", flat=True)
