"""Who may do what, role by role, through the pages and admin actions that change or hand out
something: each role is allowed or refused with its status code, an allowed change leaves
exactly one audit entry and a refused one leaves none and changes nothing."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.roles import ADMINISTRATORS, DISTRIBUTION_STAFF, EDITORS, role_groups_sync
from audit.models import AuditAction, AuditEntry
from newsletter.models import IssueStatus
from printing.models import PrintRun
from subscribers.models import Suppression, SuppressionReason
from tests.factories import article_make, issue_make, sendable_issue_make, subscriber_make
from tests.print_scenario import print_scenario_make
from worker.models import Dispatch, DispatchStatus

pytestmark = pytest.mark.django_db

ROLES = (
    "anonymous",
    "non_staff",
    "staff_no_group",
    "editor",
    "distribution",
    "administrator",
    "superuser",
)
ADMIN_LOGIN = 302  # the admin and login_required send the visitor to a login page


@dataclass(frozen=True)
class Case:
    action: str
    # role -> expected status; roles not named get `refused`.
    allowed: dict[str, int]
    refused: dict[str, int]
    arrange: Callable[[], dict]
    perform: Callable  # (client, arranged) -> response
    changed: Callable[[dict], bool]


def _admin_action(client, changelist: str, action: str, pks):
    return client.post(
        reverse(changelist), {"action": action, helpers.ACTION_CHECKBOX_NAME: pks, "index": 0}
    )


def _draft_issue() -> dict:
    issue = issue_make(year=2018, number=1)
    article_make(issue=issue)
    return {"issue": issue}


def _sending_dispatch() -> dict:
    return {
        "dispatch": Dispatch.objects.create(
            issue=sendable_issue_make(), status=DispatchStatus.SENDING
        )
    }


def _reader() -> dict:
    return {"reader": subscriber_make(email="maja.ek@jarfalla.se")}


def _unlockable() -> dict:
    return {"target": get_user_model().objects.create_user(username="annan", is_staff=True)}


def _audit_entry() -> dict:
    from audit.services import audit_record

    return {"entry": audit_record(action=AuditAction.IMPORT, label="kontakter.csv")}


def _by_login(**statuses: int) -> dict[str, int]:
    return {"anonymous": ADMIN_LOGIN, "non_staff": ADMIN_LOGIN, **statuses}


STAFF_REFUSED = _by_login(staff_no_group=403, editor=403, distribution=403)
CASES = {
    "issue_mark_ready": Case(
        action=AuditAction.ISSUE_STATUS,
        allowed={"editor": 302, "administrator": 302, "superuser": 302},
        refused=_by_login(staff_no_group=403, distribution=403),
        arrange=_draft_issue,
        perform=lambda client, a: client.post(
            reverse("admin:newsletter_issue_transition", args=[a["issue"].pk]),
            {"action": "ready"},
        ),
        changed=lambda a: (
            type(a["issue"]).objects.get(pk=a["issue"].pk).status == IssueStatus.READY
        ),
    ),
    "dispatch_pause": Case(
        action=AuditAction.DISPATCH_PAUSE,
        allowed={"editor": 302, "administrator": 302, "superuser": 302},
        refused=_by_login(staff_no_group=403, distribution=403),
        arrange=_sending_dispatch,
        perform=lambda client, a: client.post(
            reverse("admin:worker_dispatch_control", args=[a["dispatch"].pk, "pause"])
        ),
        changed=lambda a: Dispatch.objects.get(pk=a["dispatch"].pk).status == DispatchStatus.PAUSED,
    ),
    "subscriber_csv_export": Case(
        action=AuditAction.SUBSCRIBER_EXPORT,
        allowed={"administrator": 200, "superuser": 200},
        refused=STAFF_REFUSED,
        arrange=_reader,
        perform=lambda client, a: _admin_action(
            client,
            "admin:subscribers_subscriber_changelist",
            "subscribers_export_csv",
            [a["reader"].pk],
        ),
        changed=lambda a: False,
    ),
    "subscriber_erase": Case(
        action=AuditAction.ERASURE,
        allowed={"administrator": 302, "superuser": 302},
        refused=STAFF_REFUSED,
        arrange=_reader,
        perform=lambda client, a: client.post(
            reverse("admin:subscribers_subscriber_changelist"),
            {
                "action": "subscriber_erase_action",
                helpers.ACTION_CHECKBOX_NAME: [a["reader"].pk],
                "index": 0,
                "erase_confirmed": "yes",
            },
        ),
        changed=lambda a: type(a["reader"]).objects.get(pk=a["reader"].pk).status == "erased",
    ),
    "suppression_add": Case(
        action=AuditAction.SUPPRESSION_ADD,
        allowed={"administrator": 302, "superuser": 302},
        refused=STAFF_REFUSED,
        arrange=dict,
        perform=lambda client, a: client.post(
            reverse("admin:subscribers_suppression_add"),
            {"email": "sparr@example.se", "reason": SuppressionReason.MANUAL},
        ),
        changed=lambda a: Suppression.objects.exists(),
    ),
    "print_run_finalise": Case(
        action=AuditAction.PRINT_RUN_FINAL,
        allowed={"distribution": 302, "administrator": 302, "superuser": 302},
        refused={"anonymous": 302, "non_staff": 403, "staff_no_group": 403, "editor": 403},
        arrange=print_scenario_make,
        perform=lambda client, a: client.post(
            reverse("printing:print_run_finalise", kwargs={"issue_slug": a["issue"].slug}),
            {"allow_incomplete": "1"},
        ),
        changed=lambda a: PrintRun.objects.exists(),
    ),
    "print_download": Case(
        action=AuditAction.PRINT_EXPORT,
        allowed={"distribution": 200, "administrator": 200, "superuser": 200},
        refused={"anonymous": 302, "non_staff": 403, "staff_no_group": 403, "editor": 403},
        arrange=print_scenario_make,
        perform=lambda client, a: client.get(
            reverse(
                "printing:print_run_download",
                kwargs={"issue_slug": a["issue"].slug, "export_format": "csv"},
            )
        ),
        changed=lambda a: False,
    ),
    "user_unlock": Case(
        action=AuditAction.ACCOUNT_UNLOCK,
        allowed={"administrator": 302, "superuser": 302},
        refused=STAFF_REFUSED,
        arrange=_unlockable,
        perform=lambda client, a: _admin_action(
            client, "admin:accounts_user_changelist", "unlock_action", [a["target"].pk]
        ),
        changed=lambda a: False,
    ),
    "audit_trail_export": Case(
        action=AuditAction.AUDIT_EXPORT,
        allowed={"administrator": 200, "superuser": 200},
        refused=STAFF_REFUSED,
        arrange=_audit_entry,
        perform=lambda client, a: _admin_action(
            client,
            "admin:audit_auditentry_changelist",
            "audit_entries_export_csv",
            [a["entry"].pk],
        ),
        changed=lambda a: False,
    ),
}


def _login_as(client, role: str) -> None:
    if role == "anonymous":
        return
    User = get_user_model()
    if role == "superuser":
        user = User.objects.create_superuser(username="root", password="x")
    else:
        user = User.objects.create_user(username=role, is_staff=role != "non_staff")
        group = {
            "editor": EDITORS,
            "distribution": DISTRIBUTION_STAFF,
            "administrator": ADMINISTRATORS,
        }.get(role)
        if group:
            from django.contrib.auth.models import Group

            user.groups.add(Group.objects.get(name=group))
    client.force_login(user)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_it_allows_or_refuses_each_role_and_records_only_what_was_done(client, name, role):
    role_groups_sync()
    case = CASES[name]
    arranged = case.arrange()
    _login_as(client, role)
    before = AuditEntry.objects.filter(action=case.action).count()

    response = case.perform(client, arranged)

    recorded = AuditEntry.objects.filter(action=case.action).count() - before
    if role in case.allowed:
        assert response.status_code == case.allowed[role]
        assert recorded == 1
    else:
        assert response.status_code == case.refused[role]
        assert recorded == 0
        assert not case.changed(arranged)
        # Nothing handed out either: no CSV, spreadsheet or PDF in the refusal.
        assert response.get("Content-Disposition") is None
