"""A second pair of eyes: only an issue another editor approved, as it is now, goes to segments.

The test runner turns DEBUG off, so the rule is on here as in production (ISSUE_APPROVAL_REQUIRED
unset follows DEBUG).
"""

import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.roles import DISTRIBUTION_STAFF, EDITORS
from audit.models import AuditAction, AuditEntry
from newsletter.approval import (
    ApprovalRefused,
    approval_required,
    issue_approve,
    issue_current_version,
    issue_is_approved,
)
from newsletter.models import Issue, IssueStatus
from tests.composing.issue_forms import form_errors, issue_form_post
from tests.dispatching import dispatch_add_confirmed
from tests.factories import segment_make, sendable_issue_make, staff_user_make, subscriber_make
from worker.models import Dispatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def editors(settings):
    settings.STAFF_REQUIRE_2FA = False
    return (
        staff_user_make(username="anna", groups=[EDITORS]),
        staff_user_make(username="bertil", groups=[EDITORS]),
    )


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _edit_intro(client: Client, issue: Issue, intro: str):
    """Save the issue's change form as the editor does, changing the intro."""
    issue.refresh_from_db()
    response = issue_form_post(client, issue, intro=intro)
    assert response.status_code == 302, form_errors(response)
    return response


def _approve_post(client: Client, issue: Issue, version: str | None = None):
    """What the preview page's button posts: the version it showed (by default the current)."""
    issue.refresh_from_db()
    return client.post(
        reverse("admin:newsletter_issue_transition", args=[issue.pk]),
        {"action": "approve", "version": version or issue_current_version(issue=issue)},
        follow=True,
    )


def _messages(response) -> str:
    return " ".join(str(message) for message in response.context["messages"])


def test_the_rule_is_on_under_the_test_runner_as_in_production(settings):
    settings.ISSUE_APPROVAL_REQUIRED = None
    assert approval_required()  # DEBUG is off
    settings.DEBUG = True
    assert not approval_required()
    settings.ISSUE_APPROVAL_REQUIRED = True
    assert approval_required()


def test_a_second_editor_approves_the_version_they_saw_and_the_trail_says_so(editors):
    anna, bertil = editors
    issue = sendable_issue_make(approved=False)
    _edit_intro(_client(anna), issue, "Anna skrev ingressen.")

    response = _approve_post(_client(bertil), issue)

    issue.refresh_from_db()
    assert "Numret är godkänt för utskick." in _messages(response)
    assert issue.approved_by == bertil
    assert issue.approved_version == issue_current_version(issue=issue)
    entry = AuditEntry.objects.filter(action=AuditAction.ISSUE_APPROVE).get()
    assert entry.actor_id == bertil.pk
    assert entry.detail["last_changed_by"] == anna.pk


def test_it_refuses_the_editor_who_changed_the_issue_last_to_approve_it(editors):
    anna, _bertil = editors
    issue = sendable_issue_make(approved=False)
    _edit_intro(_client(anna), issue, "Anna skrev ingressen.")

    response = _approve_post(_client(anna), issue)

    issue.refresh_from_db()
    assert "en annan redaktör behöver godkänna" in _messages(response)
    assert not issue.approved_version
    assert not AuditEntry.objects.filter(action=AuditAction.ISSUE_APPROVE).exists()


def test_a_save_that_changes_nothing_does_not_make_someone_else_the_last_editor(editors):
    anna, bertil = editors
    issue = sendable_issue_make(approved=False)
    _edit_intro(_client(anna), issue, "Anna skrev ingressen.")
    # Bertil opens the form and saves it unchanged: Anna's change is still the last one.
    _edit_intro(_client(bertil), issue, "Anna skrev ingressen.")

    with pytest.raises(ApprovalRefused):
        issue_approve(issue=issue, actor=anna, version=issue_current_version(issue=issue))


def test_an_editor_cannot_approve_their_own_change_after_someone_else_edited_too(editors):
    anna, bertil = editors
    cecilia = staff_user_make(username="cecilia", groups=[EDITORS])
    issue = sendable_issue_make(approved=False)
    _edit_intro(_client(anna), issue, "Anna skrev ingressen.")
    # Bertil fixes a typo afterwards: he is now the last editor, but the intro is Anna's.
    _edit_intro(_client(bertil), issue, "Anna skrev ingressen, rättad.")

    for author in (anna, bertil):
        response = _approve_post(_client(author), issue)
        assert "en redaktör som inte har ändrat det" in _messages(response) or (
            "en annan redaktör behöver godkänna" in _messages(response)
        )
    issue.refresh_from_db()
    assert not issue.approved_version

    _approve_post(_client(cecilia), issue)
    issue.refresh_from_db()
    assert issue.approved_by == cecilia


def test_after_an_approval_only_the_new_change_counts(editors):
    anna, bertil = editors
    issue = sendable_issue_make(approved=False)
    _edit_intro(_client(anna), issue, "Anna skrev ingressen.")
    _approve_post(_client(bertil), issue)
    # Bertil changes it after approving it; Anna, who wrote the approved intro, reviews.
    _edit_intro(_client(bertil), issue, "Bertils tillägg efter godkännandet.")

    refused = _approve_post(_client(bertil), issue)
    _approve_post(_client(anna), issue)

    assert "en annan redaktör behöver godkänna" in _messages(refused)
    issue.refresh_from_db()
    assert issue.approved_by == anna


def test_it_refuses_to_approve_a_version_that_is_no_longer_the_issue_s(editors):
    anna, bertil = editors
    issue = sendable_issue_make(approved=False)
    seen = issue_current_version(issue=issue)
    _edit_intro(_client(anna), issue, "Ändrat medan Bertil läste.")

    response = _approve_post(_client(bertil), issue, version=seen)

    issue.refresh_from_db()
    assert "Numret har ändrats sedan du granskade det" in _messages(response)
    assert not issue.approved_version


def test_it_refuses_a_forged_approval_from_a_role_without_the_right(editors, settings):
    issue = sendable_issue_make(approved=False)
    distribution = staff_user_make(username="dora", groups=[DISTRIBUTION_STAFF])
    # Someone who may change issues but was not given the right to approve them.
    changer = staff_user_make(username="cecilia")
    from django.contrib.auth.models import Permission

    changer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_issue", "change_issue"])
    )

    for user in (distribution, changer):
        response = _client(user).post(
            reverse("admin:newsletter_issue_transition", args=[issue.pk]),
            {"action": "approve", "version": issue_current_version(issue=issue)},
        )
        assert response.status_code == 403
    anonymous = Client().post(
        reverse("admin:newsletter_issue_transition", args=[issue.pk]),
        {"action": "approve", "version": issue_current_version(issue=issue)},
    )
    assert anonymous.status_code == 302
    issue.refresh_from_db()
    assert not issue.approved_version


def test_it_refuses_to_approve_a_draft(editors):
    _anna, bertil = editors
    issue = sendable_issue_make(status=IssueStatus.DRAFT, approved=False)

    with pytest.raises(ApprovalRefused, match="Bara klara nummer"):
        issue_approve(issue=issue, actor=bertil, version=issue_current_version(issue=issue))


def test_an_edit_after_approval_withdraws_it_and_the_trail_says_who(editors):
    anna, bertil = editors
    issue = sendable_issue_make(approved=False)
    _approve_post(_client(bertil), issue)
    issue.refresh_from_db()
    assert issue_is_approved(issue=issue)

    _edit_intro(_client(anna), issue, "En ändring efter godkännandet.")

    issue.refresh_from_db()
    assert not issue.approved_version
    entry = AuditEntry.objects.filter(action=AuditAction.ISSUE_APPROVAL_WITHDRAW).get()
    assert entry.actor_id == anna.pk


def test_an_edit_the_email_does_not_show_keeps_the_version_and_the_approval(editors):
    _anna, bertil = editors
    issue = sendable_issue_make(approved=False)
    _approve_post(_client(bertil), issue)
    article = issue.articles.first()
    before = issue_current_version(issue=issue)

    article.body = "Brödtexten finns bara på webben."
    article.save()

    issue.refresh_from_db()
    assert issue_current_version(issue=issue) == before
    assert issue_is_approved(issue=issue)
    article.heading = "Ny rubrik syns i e-posten"
    article.save()
    issue.refresh_from_db()
    assert not issue_is_approved(issue=issue)


def test_send_issue_refuses_an_unapproved_issue_saying_it_needs_approval():
    segment_make(slug="lasare")
    issue = sendable_issue_make(approved=False)

    with pytest.raises(CommandError, match="godkännande"):
        call_command("send_issue", issue.slug, "--segment", "lasare")

    assert not Dispatch.objects.exists()


def test_a_test_send_needs_no_approval(smtp_server, settings):
    settings.EMAIL_URL = smtp_server.url
    issue = sendable_issue_make(approved=False)

    call_command("send_issue", issue.slug, "--test", "granskare@example.se")

    assert smtp_server.recipients() == ["granskare@example.se"]


def test_the_dispatch_admin_refuses_an_unapproved_issue_before_the_confirmation(editors):
    anna, _bertil = editors
    segment = segment_make(slug="lasare")
    subscriber_make(segments=[segment])
    issue = sendable_issue_make(approved=False)

    response = dispatch_add_confirmed(
        _client(anna), {"issue": issue.pk, "segments": [segment.pk], "scheduled_at": ""}
    )

    assert response.status_code == 200
    assert "behöver godkännande" in response.content.decode()
    assert not Dispatch.objects.exists()


def test_the_dispatch_admin_sends_an_approved_issue_and_freezes_the_confirmed_version(
    editors, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    anna, bertil = editors
    segment = segment_make(slug="lasare")
    subscriber_make(segments=[segment])
    issue = sendable_issue_make(approved=False)
    _approve_post(_client(bertil), issue)

    response = dispatch_add_confirmed(
        _client(anna), {"issue": issue.pk, "segments": [segment.pk], "scheduled_at": ""}
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    dispatch = Dispatch.objects.get()
    assert dispatch.rendering_version == issue_current_version(issue=issue)
    assert re.fullmatch(r"[0-9a-f]{64}", dispatch.rendering_version)
