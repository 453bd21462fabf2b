"""Frozen sends: a dispatch sends the rendering version it started with. An edit (even a proper
correction) made between its start and its last batch reaches none of its recipients, with a
real worker and a real SMTP sink; the next dispatch needs a fresh approval."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction

from accounts.roles import EDITORS
from newsletter.corrections import CorrectionRequired, issue_correction
from newsletter.models import Issue, IssueRendering, IssueStatus
from newsletter.rendering import issue_render
from tests.factories import segment_make, sendable_issue_make, staff_user_make, subscriber_make
from tests.workers import wait_until
from worker.models import Delivery, DeliveryStatus, Dispatch, DispatchStatus
from worker.services import dispatch_pause, dispatch_resend, dispatch_resume

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

ORIGINAL = "Meröppet i Sigtuna"
CORRECTED = "RÄTTAD RUBRIK EFTER START"


def _texts(smtp_server) -> list[str]:
    return [message.get_body(("plain",)).get_content() for message in smtp_server.messages()]


def test_an_edit_between_start_and_the_last_batch_reaches_no_recipient(celery_workers, smtp_server):
    readers = segment_make(slug="lasare")
    people = [subscriber_make(email=f"lasare{n}@example.se", segments=[readers]) for n in range(40)]
    issue = sendable_issue_make()
    editor = staff_user_make(username="anna", groups=[EDITORS])
    smtp_server.hold_after = 3  # the first batch stops at RCPT after three messages
    celery_workers.start()

    call_command("send_issue", issue.slug)
    dispatch = Dispatch.objects.get()
    wait_until(lambda: smtp_server.held >= 1, message="sending never started")
    issue.refresh_from_db()
    assert issue.status == IssueStatus.PUBLISHED
    article = issue.articles.get(heading=ORIGINAL)

    # Editing a sending issue without a correction is refused outright.
    article.heading = "Ändrad i smyg"
    with pytest.raises(CorrectionRequired), transaction.atomic():
        article.save()
    # A proper correction goes through, and makes a new version at once.
    with issue_correction(issue=issue, reason="Fel i rubriken", actor=editor):
        article.heading = CORRECTED
        article.save()
    corrected = issue_render(issue=Issue.objects.get(pk=issue.pk))
    assert corrected.version != dispatch.rendering_version
    # The version the dispatch started with is kept although a newer one was rendered.
    assert IssueRendering.objects.filter(
        issue=issue, version=dispatch.rendering_version, kept=True
    ).exists()
    # Pause and resume, so that the rest goes out in batches that start after the edit (a
    # running batch prepares its message once, at its start).
    dispatch_pause(dispatch=dispatch)
    smtp_server.release()
    wait_until(
        lambda: (
            not Delivery.objects.filter(dispatch=dispatch, status=DeliveryStatus.SENDING).exists()
        ),
        message="the paused batches never stopped",
    )
    sent_before_resume = len(smtp_server.messages())
    assert sent_before_resume < len(people)
    dispatch_resume(dispatch=Dispatch.objects.get(pk=dispatch.pk))

    wait_until(
        lambda: Dispatch.objects.get(pk=dispatch.pk).status == DispatchStatus.DONE,
        message="dispatch did not finish",
        timeout=120,
    )
    texts = _texts(smtp_server)
    assert len(texts) == len(people)
    assert all(ORIGINAL in text for text in texts)
    assert not any(CORRECTED in text for text in texts)

    # The correction withdrew the approval: sending again needs a second pair of eyes.
    with pytest.raises(ValidationError, match="godkännande"):
        dispatch_resend(dispatch=Dispatch.objects.get(pk=dispatch.pk))
