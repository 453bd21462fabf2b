"""Tokens and webhook endpoints in the admin: shown once, audited, https only in production."""

import pytest
from django.urls import reverse

from accounts.models import ApiToken
from accounts.roles import ADMINISTRATORS, EDITORS
from audit.models import AuditAction, AuditEntry
from tests.factories import staff_user_make
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrator(client):
    user = staff_user_make(username="admin", groups=[ADMINISTRATORS])
    client.force_login(user)
    return user


def test_an_administrator_creates_a_token_and_sees_it_once(client, administrator):
    integration = staff_user_make(username="webbplatsen", groups=[EDITORS])

    response = client.post(
        reverse("admin:accounts_apitoken_add"),
        {"user": integration.pk, "name": "Regionens webbplats", "scopes": ["dispatches:read"]},
        follow=True,
    )

    token = ApiToken.objects.get()
    page = response.content.decode()
    assert f"lnt_{token.prefix}_" in page
    assert token.scopes == ["dispatches:read"] and token.user == integration
    assert AuditEntry.objects.filter(action=AuditAction.API_TOKEN_CREATE).count() == 1
    # The secret is not on the token's own page afterwards.
    plain = page.split(f"lnt_{token.prefix}_", 1)[1].split("<", 1)[0]
    again = client.get(reverse("admin:accounts_apitoken_change", args=[token.pk])).content.decode()
    assert plain not in again


def test_an_administrator_cannot_mint_a_token_for_a_superuser(client, administrator):
    from accounts.models import User

    root = User.objects.create_superuser(username="root", password="x" * 20)

    response = client.post(
        reverse("admin:accounts_apitoken_add"),
        {"user": root.pk, "name": "bakdörr", "scopes": ["subscribers:read"]},
    )

    assert response.status_code == 200  # the form again, with the error
    assert not ApiToken.objects.exists()


def test_an_editor_cannot_reach_tokens_or_webhooks(client):
    client.force_login(staff_user_make(username="redaktor", groups=[EDITORS]))

    assert client.get(reverse("admin:accounts_apitoken_changelist")).status_code == 403
    assert client.get(reverse("admin:webhooks_webhookendpoint_changelist")).status_code == 403
    assert client.get(reverse("admin:webhooks_webhookdelivery_changelist")).status_code == 403


def test_an_endpoint_needs_https_outside_development(client, administrator, settings):
    settings.DEBUG = False
    form = {
        "url": "http://cms.example/hooks",
        "events": ["issue.published"],
        "secret": WebhookEndpoint().secret,
        "active": "on",
    }

    refused = client.post(reverse("admin:webhooks_webhookendpoint_add"), form)
    accepted = client.post(
        reverse("admin:webhooks_webhookendpoint_add"), {**form, "url": "https://cms.example/h"}
    )

    assert refused.status_code == 200 and "https://" in refused.content.decode()
    assert accepted.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url == "https://cms.example/h" and endpoint.events == ["issue.published"]
    entry = AuditEntry.objects.get(action=AuditAction.WEBHOOK_ENDPOINT_CHANGE)
    assert endpoint.secret not in str(entry.detail)


def test_send_again_queues_the_same_message_and_is_audited(client, administrator):
    endpoint = WebhookEndpoint.objects.create(
        url="https://cms.example/hooks", events=[WebhookEvent.ISSUE_PUBLISHED]
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id="msg_test",
        event=WebhookEvent.ISSUE_PUBLISHED,
        payload={"type": "issue.published"},
        status="failed",
        attempts=8,
    )

    response = client.post(
        reverse("admin:webhooks_webhookdelivery_changelist"),
        {"action": "resend_action", "_selected_action": [delivery.pk]},
    )

    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.message_id == "msg_test"
    assert AuditEntry.objects.filter(action=AuditAction.WEBHOOK_RESEND).count() == 1
