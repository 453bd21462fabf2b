"""Creating a dispatch in the admin as an editor does: the form, then its confirmation page."""

import re

from django.urls import reverse
from django.utils import timezone


def dispatch_add_confirmed(client, form: dict):
    """POST the add form, read the confirmation page's version, confirm; the last response."""
    url = reverse("admin:worker_dispatch_add")
    page = client.post(url, form)
    found = re.search(r'name="_confirmed_version" value="([0-9a-f]+)"', page.content.decode())
    if found is None:
        return page  # refused before the confirmation (a form error, a permission)
    return client.post(url, {**form, "_confirmed_version": found.group(1)})


def issue_approved(issue, *, by=None):
    """Mark the issue approved as it is now, as a second editor would on the preview page.

    A fixture's shortcut past newsletter.approval.issue_approve (whose rules have their own
    tests, tests/composing/test_issue_approval.py): the test runner turns DEBUG off, so the
    approval rule is on, and most sending tests are about something else. An edit after this
    withdraws it, as in production.
    """
    from newsletter.approval import issue_current_version
    from newsletter.models import Issue

    Issue.objects.filter(pk=issue.pk).update(
        approved_version=issue_current_version(issue=issue),
        approved_by=by,
        approved_at=timezone.now(),
    )
    issue.refresh_from_db()
    return issue


def dispatch_planned_by_command(*, readers: int):
    """A dispatch sending to `readers` queued rows, started by `send_issue` as an operator
    does, with no worker to take its start task (which waits in Redis): its rows stay queued
    for the test to claim."""
    from django.core.management import call_command

    from tests.factories import segment_make, sendable_issue_make, subscriber_make
    from worker.models import Dispatch

    segment = segment_make(slug="lasare")
    for n in range(readers):
        subscriber_make(email=f"lasare{n}@example.se", segments=[segment])
    call_command("send_issue", sendable_issue_make().slug)
    return Dispatch.objects.get()
