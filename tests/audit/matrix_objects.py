"""One object of every model the admin shows, for the pages of the role-by-action matrix."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import Group

from accounts.models import User
from accounts.roles import EDITORS
from tests.factories import (
    article_make,
    issue_make,
    organisation_make,
    print_extra_line_make,
    segment_make,
    sendable_issue_make,
    subscriber_make,
)

READER_EMAIL = "maja.ek@jarfalla.se"


def colleague_make() -> User:
    """A staff account other than the roles' own: what an administrator manages."""
    return User.objects.create_user(username="annan-kollega", is_staff=True)


def _axes(model_name: str):
    from axes import models as axes_models

    model = getattr(axes_models, model_name)
    fields = {
        "user_agent": "Firefox",
        "ip_address": "192.0.2.7",
        "username": "annan-kollega",
        "http_accept": "text/html",
        "path_info": "/admin/login/",
    }
    if model_name == "AccessAttempt":
        fields.update(get_data="", post_data="", failures_since_start=5)
    return model.objects.create(**fields)


def _totp():
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.create(user=colleague_make(), name="app", confirmed=True)


def _static():
    from django_otp.plugins.otp_static.models import StaticDevice

    return StaticDevice.objects.create(user=colleague_make(), name="reserv", confirmed=True)


def _audit_entry():
    from audit.models import AuditAction
    from audit.services import audit_record

    return audit_record(action=AuditAction.IMPORT, label="kontakter.csv")


def _copy_change():
    from subscribers.models import CopyChangeRequest

    organisation = organisation_make(name="Nacka bibliotek", print_copies=2)
    reader = subscriber_make(email=READER_EMAIL, organisation=organisation)
    return CopyChangeRequest.objects.create(
        subscriber=reader, organisation=organisation, copies_before=2, copies_requested=5
    )


def _consent_event():
    from subscribers.models import ConsentAction, ConsentEvent, ConsentSource

    return ConsentEvent.objects.create(
        subscriber=subscriber_make(email=READER_EMAIL),
        action=ConsentAction.SUBSCRIBE,
        source=ConsentSource.WEB,
    )


def _suppression():
    from subscribers.models import Suppression, SuppressionReason

    return Suppression.objects.create(email=READER_EMAIL, reason=SuppressionReason.MANUAL)


def _print_run():
    from printing.runs import print_run_finalise

    issue = issue_make(year=2018, number=1)
    organisation = organisation_make(name="Sundbybergs bibliotek", print_copies=3)
    subscriber_make(email=READER_EMAIL, channel="print", organisation=organisation)
    return print_run_finalise(issue=issue, allow_incomplete=True)


def _dispatch():
    from worker.models import Dispatch

    return Dispatch.objects.create(issue=sendable_issue_make())


def _delivery():
    from worker.models import Delivery

    dispatch = _dispatch()
    reader = subscriber_make(email=READER_EMAIL)
    return Delivery.objects.create(
        dispatch=dispatch, issue=dispatch.issue, subscriber=reader, email=reader.email
    )


def _region():
    from subscribers.models import Region

    return Region.objects.order_by("pk").first()


def _municipality():
    from subscribers.models import Municipality

    return Municipality.objects.order_by("pk").first()


def _api_token():
    from accounts.api_tokens import api_token_create

    colleague = colleague_make()
    return api_token_create(
        user=colleague, name="Webbplatsen", scopes=["dispatches:read"], actor=None
    )[0]


def _webhook_endpoint():
    from webhooks.models import WebhookEndpoint

    return WebhookEndpoint.objects.create(
        url="https://cms.example/hooks", events=["issue.published"]
    )


def _webhook_delivery():
    from webhooks.models import WebhookDelivery

    return WebhookDelivery.objects.create(
        endpoint=_webhook_endpoint(),
        message_id="msg_matrix",
        event="issue.published",
        payload={"type": "issue.published", "data": {"issue": "2018-1"}},
        status="failed",
        attempts=8,
    )


def _kept_bounce():
    from worker.models import KeptBounceMessage, KeptMessageReason

    return KeptBounceMessage.objects.create(
        source="mailbox",
        reason=KeptMessageReason.values[0],
        sender="postmaster@jarfalla.se",
        subject="Svar: Länsnytt",
        size=12,
        raw=b"Tack for brevet",
    )


MAKERS: dict[str, Callable[[], object]] = {
    "worker.keptbouncemessage": _kept_bounce,
    "accounts.apitoken": _api_token,
    "webhooks.webhookendpoint": _webhook_endpoint,
    "webhooks.webhookdelivery": _webhook_delivery,
    "axes.accessattempt": lambda: _axes("AccessAttempt"),
    "axes.accesslog": lambda: _axes("AccessLog"),
    "axes.accessfailurelog": lambda: _axes("AccessFailureLog"),
    "otp_totp.totpdevice": _totp,
    "otp_static.staticdevice": _static,
    "accounts.user": colleague_make,
    "auth.group": lambda: Group.objects.get(name=EDITORS),
    "audit.auditentry": _audit_entry,
    "subscribers.copychangerequest": _copy_change,
    "subscribers.region": _region,
    "subscribers.municipality": _municipality,
    "subscribers.organisation": lambda: organisation_make(name="Nacka bibliotek"),
    "subscribers.subscriber": lambda: subscriber_make(email=READER_EMAIL),
    "subscribers.segment": lambda: segment_make(slug="lasare"),
    "subscribers.consentevent": _consent_event,
    "subscribers.suppression": _suppression,
    "newsletter.issue": lambda: issue_make(year=2018, number=1),
    "newsletter.article": lambda: article_make(issue=issue_make(year=2018, number=1)),
    "printing.printextraline": lambda: print_extra_line_make(
        issue=issue_make(year=2018, number=1), label="Arkivet"
    ),
    "printing.printrun": _print_run,
    "worker.dispatch": _dispatch,
    "worker.delivery": _delivery,
}
