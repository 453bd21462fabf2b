"""A small, complete world for the page-by-page tests: one of everything the site shows, its
free text holding markup, as if an attacker had typed it into a form or an import file."""

import pytest

MARKUP = "javascript:alert(1)//'\"><img src=x onerror=alert(1)><script>alert(1)</script>"


@pytest.fixture
def world(db, settings, tmp_path):
    from django.core.cache import cache

    from accounts.models import User
    from newsletter.models import IssueStatus
    from printing.runs import print_run_finalise
    from subscribers.models import (
        Channel,
        ConsentAction,
        ConsentEvent,
        ConsentSource,
        CopyChangeRequest,
        Suppression,
        SuppressionReason,
    )
    from subscribers.validation import email_hash
    from tests.factories import (
        organisation_make,
        print_extra_line_make,
        segment_make,
        sendable_issue_make,
        subscriber_make,
    )
    from worker.models import Delivery, DeliveryStatus, Dispatch, DispatchStatus

    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()  # the sign-up rate limit counts in Redis, across runs
    # First, so the admin's user pages (and their delete form) are about this one.
    User.objects.create_user(username="tidigare-redaktor", email="tidigare@example.se")
    # No password: the tests sign in with force_login, and hashing one costs half a second.
    staff = User.objects.create_superuser(username="redaktor", email="redaktor@example.se")
    segment = segment_make(slug="nyheter", name=f"Nyheter {MARKUP}", public=True)
    organisation = organisation_make(name=f"Solna bibliotek {MARKUP}")
    subscriber = subscriber_make(
        email="anna.andersson@solna.se",
        name=f"Anna {MARKUP}",
        title=MARKUP,
        channel=Channel.BOTH,
        organisation=organisation,
        segments=[segment],
    )
    issue = sendable_issue_make(
        slug="2018-1",
        title=f"Länsnytt 2018:1 {MARKUP}",
        status=IssueStatus.READY,
        intro=MARKUP,
        preheader=MARKUP,
    )
    article = issue.articles.order_by("position").first()
    article.heading = f"Meröppet {MARKUP}"
    article.lead = MARKUP
    article.body = f"Brödtext {MARKUP}"
    article.save()
    # Composed, then published: a published issue's content changes only as a correction.
    type(issue).objects.filter(pk=issue.pk).update(status=IssueStatus.PUBLISHED)
    issue.refresh_from_db()
    dispatch = Dispatch.objects.create(
        issue=issue, status=DispatchStatus.PAUSED, status_reason=MARKUP, created_by=staff
    )
    Delivery.objects.create(
        dispatch=dispatch,
        issue=issue,
        subscriber=subscriber,
        email=subscriber.email,
        status=DeliveryStatus.FAILED,
        last_error=MARKUP,
    )
    ConsentEvent.objects.create(
        subscriber=subscriber,
        action=ConsentAction.SUBSCRIBE,
        source=ConsentSource.WEB,
        user_agent=MARKUP,
        detail={"organisation": MARKUP},
    )
    Suppression.objects.create(
        email_hash=email_hash("spärrad@example.se"),
        email="spärrad@example.se",
        reason=SuppressionReason.MANUAL,
        detail=MARKUP,
    )
    # A hostile message kept from the bounce mailbox: shown to staff as text, never as markup.
    from worker.models import KeptBounceMessage, KeptMessageReason

    KeptBounceMessage.objects.create(
        source=ConsentSource.MAILBOX,
        reason=KeptMessageReason.NOT_A_REPORT,
        sender=MARKUP[:255],
        subject=MARKUP[:255],
        size=100,
        raw=f"Subject: {MARKUP}\r\n\r\n{MARKUP}\r\n".encode(),
        sha256="0" * 64,
    )
    CopyChangeRequest.objects.create(
        subscriber=subscriber, organisation=organisation, copies_before=3, copies_requested=5
    )
    print_extra_line_make(issue=issue, label=f"Bokmässan {MARKUP}", copies=10)
    print_run_finalise(issue=issue, user=staff, allow_incomplete=True)
    # The staff-account and job pages that later features added to the admin.
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from subscribers.models import ImportJob, PrivacyRequest, PrivacyRequestKind

    attempt = {"username": MARKUP, "ip_address": "203.0.113.7", "user_agent": MARKUP}
    AccessAttempt.objects.create(**attempt, path_info="/admin/login/", failures_since_start=1)
    AccessLog.objects.create(**attempt, path_info="/admin/login/")
    AccessFailureLog.objects.create(**attempt, path_info="/admin/login/", locked_out=False)
    totp_device = TOTPDevice.objects.create(user=staff, name=MARKUP[:64], confirmed=True)
    StaticDevice.objects.create(user=staff, name=MARKUP[:64], confirmed=True)
    import_job = ImportJob.objects.create(
        created_by=staff, filename=f"lista {MARKUP}.csv", content=b"email\n"
    )
    privacy_request = PrivacyRequest.objects.create(
        subscriber=subscriber, kind=PrivacyRequestKind.EXPORT
    )
    # The API's tokens and the webhooks' log, with markup wherever a person or a peer writes.
    from accounts.api_tokens import api_token_create
    from webhooks.models import WebhookDelivery, WebhookEndpoint

    api_token_create(user=staff, name=f"CMS {MARKUP}", scopes=["dispatches:read"], actor=staff)
    endpoint = WebhookEndpoint.objects.create(
        url="https://cms.example/hooks", description=MARKUP, events=["issue.published"]
    )
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id="msg_world",
        event="issue.published",
        payload={"data": MARKUP},
        last_response=MARKUP,
        last_error=MARKUP,
    )
    return {
        "totp_device": totp_device,
        "import_job": import_job,
        "privacy_request": privacy_request,
        "staff": staff,
        "segment": segment,
        "organisation": organisation,
        "subscriber": subscriber,
        "issue": issue,
        "article": article,
        "dispatch": dispatch,
    }
