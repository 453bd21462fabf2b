"""Every admin action of every model admin, role by role: allowed or refused with its status
code; an allowed one leaves exactly one audit entry of its action (or none, for the few that
are not in the trail, each saying why), naming the user and no address; a refused one
changes nothing, records nothing and hands out no file.

Exhaustive by construction: `test_it_lists_every_admin_action` fails for an action that a
model admin offers (its own, the site's delete_selected, a library's) and ACTIONS does not
list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from audit.models import AuditAction
from tests.audit.matrix_objects import MAKERS, colleague_make
from tests.audit.matrix_roles import (
    ROLES,
    STAFF_ROLES,
    assert_no_address,
    assert_sent_to_login,
    entries_since,
    last_entry_id,
    role_client,
)
from tests.audit.test_role_matrix_pages import ADMIN_MODELS
from tests.factories import article_make, issue_make

pytestmark = pytest.mark.django_db

ADMINISTRATION = "administrator superuser"
EDITING = "editor administrator superuser"
SUPERUSER = "superuser"
NOBODY = ""
NOT_IN_POINT_6 = "editing content is not in the trail; the admin's own history records it"


@dataclass(frozen=True)
class Action:
    allowed: str  # the roles that may, separated by spaces
    records: str | None  # the audit action it leaves, once per object
    status: int = 302  # what an allowed one answers: back to the list, or a file (200)
    post: dict | None = None  # the confirmation the action asks for
    arrange: Callable[[], object] | None = None  # the object; MAKERS' by default
    changed: Callable[[object], bool] | None = None  # None: nothing to see from outside
    why_not_recorded: str = ""


def _gone(target) -> bool:
    return not type(target)._default_manager.filter(pk=target.pk).exists()


def _delete_selected(label: str, **overrides) -> Action:
    """delete_selected, allowed to whoever holds the delete right in the pages matrix."""
    holders = [
        role for role, rights in zip(STAFF_ROLES, ADMIN_MODELS[label], strict=True) if "d" in rights
    ]
    fields = {"records": None, "changed": _gone, **overrides}
    if fields["records"] is None:
        fields["why_not_recorded"] = NOT_IN_POINT_6
    return Action(allowed=" ".join(holders), post={"post": "yes"}, **fields)


def _locked_out_colleague():
    from axes.models import AccessAttempt

    colleague = colleague_make()
    AccessAttempt.objects.create(
        username=colleague.username,
        ip_address="192.0.2.7",
        user_agent="Firefox",
        http_accept="text/html",
        path_info="/admin/login/",
        get_data="",
        post_data="",
        failures_since_start=5,
    )
    return colleague


def _attempts_of(user) -> bool:
    from axes.models import AccessAttempt

    return AccessAttempt.objects.filter(username=user.username).exists()


def _expired_attempt():
    from datetime import timedelta

    from axes.models import AccessAttempt
    from django.utils import timezone

    attempt = MAKERS["axes.accessattempt"]()
    AccessAttempt.objects.filter(pk=attempt.pk).update(
        attempt_time=timezone.now() - timedelta(days=2)
    )
    return attempt


def _colleague_logged_in():
    colleague = colleague_make()
    Client().force_login(colleague)
    return colleague


def _sessions_of(user) -> int:
    return sum(
        session.get_decoded().get("_auth_user_id") == str(user.pk)
        for session in Session.objects.all()
    )


def _draft_with_article():
    issue = issue_make(year=2018, number=1)
    article_make(issue=issue)
    return issue


def _two_articles():
    issue = issue_make(year=2018, number=1)
    article_make(issue=issue, heading="Första", slug="forsta", position=1)
    return article_make(issue=issue, heading="Andra", slug="andra", position=2)


def _active_reader():
    from tests.factories import subscriber_make

    return subscriber_make(email="maja.ek@jarfalla.se")


def _status_of(target) -> str:
    return type(target).objects.get(pk=target.pk).status


def _refreshed(target):
    return type(target)._default_manager.get(pk=target.pk)


# Every admin action, by model admin and name: who may run it and what it leaves.
ACTIONS: dict[tuple[str, str], Action] = {
    ("axes.accessattempt", "cleanup_expired_attempts"): Action(
        allowed=SUPERUSER,
        records=None,
        why_not_recorded="django-axes's upkeep: removing expired attempts unlocks nobody",
        arrange=_expired_attempt,
        changed=_gone,
    ),
    ("accounts.user", "sessions_end_action"): Action(
        allowed=ADMINISTRATION,
        records=AuditAction.SESSIONS_END,
        arrange=_colleague_logged_in,
        changed=lambda user: _sessions_of(user) == 0,
    ),
    ("accounts.user", "unlock_action"): Action(
        allowed=ADMINISTRATION,
        records=AuditAction.ACCOUNT_UNLOCK,
        arrange=_locked_out_colleague,
        changed=lambda user: not _attempts_of(user),
    ),
    ("audit.auditentry", "audit_entries_export_csv"): Action(
        allowed=ADMINISTRATION, records=AuditAction.AUDIT_EXPORT, status=200
    ),
    ("subscribers.copychangerequest", "approve"): Action(
        allowed=ADMINISTRATION,
        records=None,
        why_not_recorded="a person's own request for copies: the consent log records it",
        changed=lambda request: _status_of(request) == "approved",
    ),
    ("subscribers.copychangerequest", "reject"): Action(
        allowed=ADMINISTRATION,
        records=None,
        why_not_recorded="a person's own request for copies: the consent log records it",
        changed=lambda request: _status_of(request) == "rejected",
    ),
    ("subscribers.subscriber", "subscribers_export_csv"): Action(
        allowed=ADMINISTRATION, records=AuditAction.SUBSCRIBER_EXPORT, status=200
    ),
    ("subscribers.subscriber", "subscriber_export_action"): Action(
        allowed=ADMINISTRATION, records=AuditAction.PERSONAL_DATA_EXPORT, status=200
    ),
    ("subscribers.subscriber", "subscriber_erase_action"): Action(
        allowed=ADMINISTRATION,
        records=AuditAction.ERASURE,
        post={"erase_confirmed": "yes"},
        changed=lambda reader: _status_of(reader) == "erased",
    ),
    # Unsubscribing puts the address on the suppression list: that is the entry.
    ("subscribers.subscriber", "subscribers_unsubscribe"): Action(
        allowed="distribution administrator superuser",
        records=AuditAction.SUPPRESSION_ADD,
        arrange=_active_reader,
        changed=lambda reader: _status_of(reader) == "unsubscribed",
    ),
    ("newsletter.issue", "mark_ready"): Action(
        allowed=EDITING,
        records=AuditAction.ISSUE_STATUS,
        arrange=_draft_with_article,
        changed=lambda issue: _status_of(issue) == "ready",
    ),
    ("newsletter.article", "move_up"): Action(
        allowed=EDITING,
        records=None,
        why_not_recorded=NOT_IN_POINT_6,
        arrange=_two_articles,
        changed=lambda article: _refreshed(article).position == 1,
    ),
    ("newsletter.article", "move_down"): Action(
        allowed=EDITING,
        records=None,
        why_not_recorded=NOT_IN_POINT_6,
        arrange=lambda: _two_articles().issue.articles.get(slug="forsta"),
        changed=lambda article: _refreshed(article).position == 2,
    ),
    # delete_selected, offered by the site to every model admin: whoever holds the delete
    # right. Removing a suppression is in the trail; so is a deleted account or group,
    # which takes its roles with it.
    **{(label, "delete_selected"): _delete_selected(label) for label in ADMIN_MODELS},
    ("subscribers.suppression", "delete_selected"): _delete_selected(
        "subscribers.suppression", records=AuditAction.SUPPRESSION_REMOVE
    ),
    ("accounts.user", "delete_selected"): _delete_selected(
        "accounts.user", records=AuditAction.ROLE_CHANGE
    ),
    ("auth.group", "delete_selected"): _delete_selected(
        "auth.group", records=AuditAction.ROLE_CHANGE
    ),
    # Deleting a subscriber in the admin is an erasure: the row stays, anonymised, and the
    # address's hash stays suppressed (subscribers/admin.py).
    ("accounts.apitoken", "revoke_action"): Action(
        allowed=ADMINISTRATION,
        records=AuditAction.API_TOKEN_REVOKE,
        changed=lambda token: _refreshed(token).revoked_at is not None,
    ),
    ("webhooks.webhookdelivery", "resend_action"): Action(
        allowed=ADMINISTRATION,
        records=AuditAction.WEBHOOK_RESEND,
        changed=lambda delivery: _status_of(delivery) == "pending",
    ),
    ("webhooks.webhookendpoint", "delete_selected"): _delete_selected(
        "webhooks.webhookendpoint", records=AuditAction.WEBHOOK_ENDPOINT_CHANGE
    ),
    ("subscribers.subscriber", "delete_selected"): _delete_selected(
        "subscribers.subscriber",
        records=AuditAction.ERASURE,
        changed=lambda reader: _status_of(reader) == "erased",
    ),
}

# The one model admin that answers an action it does not offer with 403 instead of Django's
# "no action selected" (subscribers/admin.py: a forged export must look refused).
FORGED_ACTION_REFUSED = {"subscribers.subscriber"}


def test_it_lists_every_admin_action():
    offered = {
        (model._meta.label_lower, name)
        for model, model_admin in admin.site._registry.items()
        for _function, name, _description in model_admin._get_base_actions()
    }
    assert offered - set(ACTIONS) == set(), "admin actions nobody has put in the matrix"
    assert set(ACTIONS) - offered == set(), "actions in the matrix that no longer exist"


def _expected_status(label: str, name: str, role: str) -> int:
    action = ACTIONS[(label, name)]
    if role in action.allowed.split():
        return action.status
    if role in ("anonymous", "non_staff"):
        return 302  # the admin's login; the second step for a session without staff status
    rights = ADMIN_MODELS[label][STAFF_ROLES.index(role)]
    if not set(rights) & set("vc"):
        return 403  # the list itself is refused
    if label in FORGED_ACTION_REFUSED:
        return 403
    # Django shows the list again: with "no action selected" (302) when the user has other
    # actions there, as a plain list (200) when they have none at all.
    others = [
        other
        for (other_label, other), entry in ACTIONS.items()
        if other_label == label and role in entry.allowed.split()
    ]
    return 302 if others else 200


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", sorted(ACTIONS), ids=lambda key: f"{key[0]}:{key[1]}")
def test_it_runs_each_admin_action_for_the_roles_that_may_and_records_it_once(settings, key, role):
    label, name = key
    action = ACTIONS[key]
    client, user = role_client(role, settings)
    target = (action.arrange or MAKERS[label])()
    app_label, model_name = label.split(".")
    before = last_entry_id()

    response = client.post(
        reverse(f"admin:{app_label}_{model_name}_changelist"),
        {
            "action": name,
            helpers.ACTION_CHECKBOX_NAME: [target.pk],
            "index": 0,
            **(action.post or {}),
        },
    )

    made = entries_since(before)
    assert_no_address(made)
    assert response.status_code == _expected_status(label, name, role)
    if role in ("anonymous", "non_staff"):
        assert_sent_to_login(role, response)
    if role in action.allowed.split():
        if action.changed is not None:
            assert action.changed(target)
        if action.records is None:
            assert action.why_not_recorded
            assert made == []
        else:
            assert [entry.action for entry in made] == [action.records], made
            assert made[0].actor_id == user.pk
    else:
        assert made == []
        if action.changed is not None:
            assert not action.changed(target)
        assert response.get("Content-Disposition") is None
