"""An unsubscribe link names the dispatch it was mailed in, signed, and old links still work."""

import pytest
from django.test import Client

from subscribers.models import ConsentAction, SubscriberStatus
from subscribers.tokens import UNSUBSCRIBE, TokenInvalid, token_read, unsubscribe_url
from tests.factories import subscriber_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader():
    return subscriber_make(email="lasare@huddinge.se")


def _path(url: str) -> str:
    return url.removeprefix("http://localhost:8000")


def test_a_mailed_link_records_its_dispatch_in_the_unsubscribe_event(reader):
    url = unsubscribe_url(subscriber_id=reader.pk, email=reader.email, dispatch_id=42)

    response = Client().post(_path(url), "List-Unsubscribe=One-Click",
                             content_type="application/x-www-form-urlencoded")  # fmt: skip

    assert response.status_code == 200
    event = reader.consent_events.get(action=ConsentAction.UNSUBSCRIBE)
    assert event.detail == {"status_before": "active", "dispatch_id": 42}


def test_a_link_without_a_dispatch_keeps_working_and_names_none(reader):
    url = unsubscribe_url(subscriber_id=reader.pk, email=reader.email)

    assert Client().post(_path(url)).status_code == 200

    reader.refresh_from_db()
    assert reader.status == SubscriberStatus.UNSUBSCRIBED
    assert "dispatch_id" not in reader.consent_events.get().detail


def test_the_dispatch_in_a_link_cannot_be_changed(reader):
    token = _path(unsubscribe_url(subscriber_id=reader.pk, email=reader.email, dispatch_id=42))
    token = token.split("/")[2]
    payload, _, signature = token.rpartition(":")
    forged = payload.replace(".42", ".7") + ":" + signature

    with pytest.raises(TokenInvalid):
        token_read(purpose=UNSUBSCRIBE, token=forged)
    response = Client().post(f"/avregistrera/{forged}/")

    assert response.status_code == 400
    reader.refresh_from_db()
    assert reader.status == SubscriberStatus.ACTIVE
    assert token_read(purpose=UNSUBSCRIBE, token=token).dispatch_id == 42
