"""The staff API: tokens with scopes, the import's rules for writes, an audit entry for each
read of personal data and each write."""

import pytest
from django.core.cache import cache

from accounts.api_tokens import api_token_create, api_token_revoke
from accounts.models import ApiToken
from accounts.roles import ADMINISTRATORS, EDITORS
from audit.models import AuditAction, AuditEntry
from subscribers.models import Subscriber, SubscriberStatus, Suppression, SuppressionReason
from subscribers.validation import email_hash
from tests.factories import segment_make, staff_user_make, subscriber_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def throttle_reset():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def administrator():
    return staff_user_make(username="admin", groups=[ADMINISTRATORS])


def _token(user, *scopes, **fields):
    token, plain = api_token_create(user=user, name="CMS", scopes=scopes, actor=user, **fields)
    return token, {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


def test_it_stores_only_a_hash_of_the_token(administrator):
    token, headers = _token(administrator, "subscribers:read")
    plain = headers["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    # lnt_<prefix>_<secret>: the prefix is hex, the secret may hold "_" itself (before, the
    # test took only what followed the secret's last "_", a few letters at times, which
    # then turned up by chance in the stored hash).
    secret = plain.removeprefix("lnt_").partition("_")[2]
    assert len(secret) == 43  # secrets.token_urlsafe(32)

    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert all(secret not in str(value) for value in stored.values())
    assert AuditEntry.objects.filter(action=AuditAction.API_TOKEN_CREATE).count() == 1


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer ",
        "Bearer lnt_",
        "Bearer nonsense",
        "Bearer lnt_000000000000_fel",
        "Basic YWRtaW46YWRtaW4=",
        "Bearer " + "lnt_" + "a" * 5000,
    ],
)
def test_it_answers_401_to_a_missing_or_wrong_token(client, administrator, authorization):
    _token(administrator, "subscribers:read")
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    assert client.get("/api/v1/subscribers/", **extra).status_code == 401


def test_it_answers_401_to_a_revoked_or_expired_token(client, administrator):
    from datetime import timedelta

    from django.utils import timezone

    revoked, revoked_headers = _token(administrator, "subscribers:read")
    api_token_revoke(token=revoked, actor=administrator)
    _, expired_headers = _token(
        administrator, "subscribers:read", expires_at=timezone.now() - timedelta(minutes=1)
    )

    assert client.get("/api/v1/subscribers/", **revoked_headers).status_code == 401
    assert client.get("/api/v1/subscribers/", **expired_headers).status_code == 401


def test_it_answers_401_when_the_tokens_user_left_the_staff(client, administrator):
    _, headers = _token(administrator, "subscribers:read")
    administrator.is_staff = False
    administrator.save()

    assert client.get("/api/v1/subscribers/", **headers).status_code == 401


def test_it_answers_403_to_a_token_without_the_scope(client, administrator):
    _, headers = _token(administrator, "dispatches:read")

    response = client.get("/api/v1/subscribers/", **headers)

    assert response.status_code == 403
    assert "subscribers:read" in response.json()["detail"]


def test_it_answers_403_when_the_user_lacks_the_right_behind_the_scope(client):
    # An editor may view subscribers in the admin but not export them: nor through a token.
    editor = staff_user_make(username="redaktor", groups=[EDITORS])
    _, headers = _token(editor, "subscribers:read")

    assert client.get("/api/v1/subscribers/", **headers).status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.SUBSCRIBER_EXPORT).exists()


def test_it_lists_subscribers_and_records_the_read_as_an_export(client, administrator):
    segment = segment_make(slug="folkbibliotek")
    anna = subscriber_make(email="anna@bibliotek.example", name="Anna")
    anna.segments.add(segment)
    subscriber_make(email="skyddad@bibliotek.example", protected_identity=True)
    _, headers = _token(administrator, "subscribers:read")

    body = client.get("/api/v1/subscribers/", **headers).json()

    assert [row["email"] for row in body["results"]] == ["anna@bibliotek.example"]
    assert body["results"][0]["segments"] == ["folkbibliotek"]
    entry = AuditEntry.objects.get(action=AuditAction.SUBSCRIBER_EXPORT)
    assert entry.actor_id == administrator.pk and entry.detail["rows"] == 1
    assert "anna@bibliotek.example" not in str(entry.detail) + entry.object_label


def test_it_answers_no_store_for_personal_data(client, administrator):
    _, headers = _token(administrator, "subscribers:read")

    assert client.get("/api/v1/subscribers/", **headers).headers["Cache-Control"] == "no-store"


def test_it_adds_subscribers_with_the_imports_rules(client, administrator):
    segment_make(slug="folkbibliotek")
    _, headers = _token(administrator, "subscribers:write")

    response = client.post(
        "/api/v1/subscribers/",
        {
            "records": [
                {"email": "ny@bibliotek.example", "name": "Ny Person", "channels": "e-post"},
                {"email": "Andra@Bibliotek.Example", "segments": "folkbibliotek"},
            ],
            "segments": ["folkbibliotek"],
        },
        content_type="application/json",
        **headers,
    )

    assert response.status_code == 200, response.content
    assert response.json()["created"] == 2
    assert set(Subscriber.objects.values_list("email", flat=True)) == {
        "ny@bibliotek.example",
        "andra@bibliotek.example",
    }
    entry = AuditEntry.objects.get(action=AuditAction.IMPORT)
    assert entry.actor_id == administrator.pk and entry.detail["created"] == 2


def test_it_writes_nothing_when_one_record_is_bad(client, administrator):
    _, headers = _token(administrator, "subscribers:write")

    response = client.post(
        "/api/v1/subscribers/",
        {"records": [{"email": "ok@bibliotek.example"}, {"email": "inte en adress"}]},
        content_type="application/json",
        **headers,
    )

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(error["record"], error["field"]) for error in errors] == [(1, "email")]
    assert not Subscriber.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditAction.IMPORT).exists()


def test_it_never_reactivates_an_unsubscribed_or_suppressed_person(client, administrator):
    gone = subscriber_make(email="slutat@bibliotek.example", status=SubscriberStatus.UNSUBSCRIBED)
    Suppression.objects.create(
        email="sparrad@bibliotek.example",
        email_hash=email_hash("sparrad@bibliotek.example"),
        reason=SuppressionReason.BOUNCED,
    )
    _, headers = _token(administrator, "subscribers:write")

    response = client.post(
        "/api/v1/subscribers/",
        {
            "records": [
                {"email": "slutat@bibliotek.example"},
                {"email": "sparrad@bibliotek.example"},
            ],
            "update": True,
        },
        content_type="application/json",
        **headers,
    )

    assert response.status_code == 200
    assert len(response.json()["skipped"]) == 2
    gone.refresh_from_db()
    assert gone.status == SubscriberStatus.UNSUBSCRIBED
    assert not Subscriber.objects.filter(email="sparrad@bibliotek.example").exists()


def test_it_refuses_more_records_than_one_request_may_carry(client, administrator):
    _, headers = _token(administrator, "subscribers:write")
    records = [{"email": f"p{n}@bibliotek.example"} for n in range(501)]

    response = client.post(
        "/api/v1/subscribers/", {"records": records}, content_type="application/json", **headers
    )

    assert response.status_code == 422
    assert not Subscriber.objects.exists()


def test_a_read_token_cannot_write(client, administrator):
    _, headers = _token(administrator, "subscribers:read")

    response = client.post(
        "/api/v1/subscribers/",
        {"records": [{"email": "ny@bibliotek.example"}]},
        content_type="application/json",
        **headers,
    )

    assert response.status_code == 403
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize("rate", ["default", "5/m"])
def test_it_limits_the_rate_per_token(client, administrator, settings, rate):
    if rate != "default":
        settings.API_TOKEN_RATE = rate
    limit = int(settings.API_TOKEN_RATE.split("/")[0])
    _, headers = _token(administrator, "dispatches:read")
    _, other = _token(administrator, "dispatches:read")

    statuses = [client.get("/api/v1/dispatches/", **headers).status_code for _ in range(limit + 1)]

    assert statuses[:limit] == [200] * limit
    assert statuses[limit] == 429
    # The budget is the token's own: another token of the same person is not affected.
    assert client.get("/api/v1/dispatches/", **other).status_code == 200
