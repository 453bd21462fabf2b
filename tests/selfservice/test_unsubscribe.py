"""One-click unsubscribe (RFC 8058) and what every self-service link does with a bad token."""

import pytest
from django.test import Client

from subscribers.models import (
    ConsentAction,
    ConsentSource,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
)
from subscribers.selectors import subscribers_mailable
from subscribers.tokens import CONFIRM, PREFERENCES, UNSUBSCRIBE, token_make
from tests.factories import segment_make, subscriber_make
from tests.selfservice.links import signed_in_the_past, unsubscribe_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader():
    segment = segment_make(slug="nyheter", public=True)
    return subscriber_make(email="lasare@huddinge.se", segments=[segment])


def test_it_unsubscribes_on_an_rfc8058_post_without_cookie_or_csrf_token(reader):
    provider = Client(enforce_csrf_checks=True)
    assert not provider.cookies

    response = provider.post(
        unsubscribe_path(reader),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    reader.refresh_from_db()
    assert reader.status == SubscriberStatus.UNSUBSCRIBED
    assert reader.unsubscribed_at is not None
    event = reader.consent_events.get()
    assert (event.action, event.source) == (ConsentAction.UNSUBSCRIBE, ConsentSource.ONE_CLICK)
    assert Suppression.objects.get(email_hash=reader.email_hash).reason == (
        SuppressionReason.UNSUBSCRIBED
    )
    assert not subscribers_mailable(segments=reader.segments.all()).exists()


def test_it_changes_nothing_on_get_and_shows_a_button(reader):
    response = Client(enforce_csrf_checks=True).get(unsubscribe_path(reader))

    assert response.status_code == 200
    assert 'type="submit"' in response.content.decode()
    reader.refresh_from_db()
    assert reader.status == SubscriberStatus.ACTIVE
    assert not reader.consent_events.exists()
    assert not Suppression.objects.exists()


def test_it_unsubscribes_from_the_button_as_a_web_action(reader):
    response = Client(enforce_csrf_checks=True).post(unsubscribe_path(reader), {"confirm": "1"})

    assert response.status_code == 200
    event = reader.consent_events.get()
    assert event.source == ConsentSource.WEB


def test_it_is_idempotent(reader):
    client = Client(enforce_csrf_checks=True)
    for _ in range(3):
        response = client.post(
            unsubscribe_path(reader),
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200

    assert reader.consent_events.filter(action=ConsentAction.UNSUBSCRIBE).count() == 1
    assert Suppression.objects.count() == 1
    assert Subscriber.objects.get().status == SubscriberStatus.UNSUBSCRIBED


def _bad_tokens(reader) -> dict[str, str]:
    good = token_make(purpose=UNSUBSCRIBE, subscriber_id=reader.pk, email=reader.email)
    with signed_in_the_past(8 * 24 * 3600):
        expired_confirm = token_make(purpose=CONFIRM, subscriber_id=reader.pk, email=reader.email)
    other_address = token_make(purpose=UNSUBSCRIBE, subscriber_id=reader.pk, email="x@y.se")
    return {
        "forged": f"{reader.pk}.abcdefabcdefabcd:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "altered": good.replace(f"{reader.pk}.", f"{reader.pk + 1}.", 1),
        "truncated": good[:-3],
        "wrong_purpose": token_make(
            purpose=PREFERENCES, subscriber_id=reader.pk, email=reader.email
        ),
        "other_address": other_address,
        "expired_confirm": expired_confirm,
        "unsubscribe_purpose": good,
    }


@pytest.mark.parametrize(
    "kind", ["forged", "altered", "truncated", "wrong_purpose", "other_address"]
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_it_answers_400_and_changes_nothing_for_a_bad_unsubscribe_token(reader, kind, method):
    token = _bad_tokens(reader)[kind]
    client = Client(enforce_csrf_checks=True)

    response = getattr(client, method)(f"/avregistrera/{token}/", {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 400
    assert "Länken fungerar inte" in response.content.decode()
    reader.refresh_from_db()
    assert reader.status == SubscriberStatus.ACTIVE
    assert not reader.consent_events.exists()
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("kind", ["forged", "altered", "unsubscribe_purpose", "expired_confirm"])
def test_it_answers_400_and_changes_nothing_for_a_bad_preference_or_confirm_token(
    client, reader, kind
):
    token = _bad_tokens(reader)[kind]
    pending = subscriber_make(email="ny@huddinge.se", status=SubscriberStatus.PENDING)

    responses = [
        client.post(f"/prenumeration/{token}/", {"channel": "print", "language": "en"}),
        client.post(f"/prenumeration/{token}/radera/"),
        client.post(f"/prenumeration/{token}/mina-uppgifter.json"),
        client.post(f"/prenumerera/bekrafta/{token}/"),
    ]

    assert [response.status_code for response in responses] == [400] * 4
    reader.refresh_from_db()
    pending.refresh_from_db()
    assert (reader.status, reader.channel, reader.language) == ("active", "email", "sv")
    assert pending.status == SubscriberStatus.PENDING
    assert not reader.consent_events.exists()
