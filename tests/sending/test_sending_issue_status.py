"""Only an issue that passed its checklist is sent, and sending publishes its web version."""

import pytest
from django.core.exceptions import ValidationError

from newsletter.models import IssueStatus
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from worker.models import Dispatch
from worker.services import dispatch_create

pytestmark = pytest.mark.django_db


def test_it_refuses_to_send_a_draft_issue():
    segment = segment_make(slug="lasare")
    subscriber_make(segments=[segment])
    issue = sendable_issue_make(status=IssueStatus.DRAFT)

    with pytest.raises(ValidationError, match="utkast"):
        dispatch_create(issue=issue, segment_slugs=["lasare"])

    assert not Dispatch.objects.exists()


def test_it_publishes_a_ready_issue_when_its_dispatch_starts(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    segment = segment_make(slug="lasare")
    subscriber_make(segments=[segment])
    issue = sendable_issue_make(status=IssueStatus.READY)

    dispatch_create(issue=issue, segment_slugs=["lasare"])

    issue.refresh_from_db()
    assert issue.status == IssueStatus.PUBLISHED
    assert issue.publication_date is not None
