"""The public subscribe form: double opt-in, no enumeration, honeypot, rate limit."""

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.test import Client

from subscribers.models import (
    ConsentAction,
    ConsentEvent,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
)
from subscribers.selectors import subscribers_mailable
from tests.factories import segment_make, subscriber_make
from tests.selfservice.links import (
    page_without_csrf,
    path_from_text,
    post_committed,
    signed_in_the_past,
    unsubscribe_path,
)

pytestmark = pytest.mark.django_db

SUBSCRIBE = "/prenumerera/"


@pytest.fixture(autouse=True)
def rate_limit_counters_cleared():
    # The rate limit counts in the shared cache; each test starts with a clean window.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def segments():
    return [
        segment_make(slug="nyheter", name="Nyheter från länet", public=True),
        segment_make(slug="kurser", name="Kurser och konferenser", public=True),
        segment_make(slug="intern", name="Intern personal", public=False),
    ]


def form_data(**overrides) -> dict:
    data = {
        "name": "Karin Lindqvist",
        "email": "karin.lindqvist@sundbyberg.se",
        "organisation": "",
        "channel": "email",
        "language": "sv",
        "street": "",
        "postal_code": "",
        "city": "",
        "website": "",
    }
    data.update(overrides)
    return data


def test_it_offers_only_public_segments_and_ticks_nothing(client, segments):
    response = client.get(SUBSCRIBE)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Nyheter från länet" in html and "Kurser och konferenser" in html
    assert "Intern personal" not in html
    assert 'type="checkbox"' in html and "checked" not in html.split('name="channel"')[0]


def test_it_creates_a_pending_subscriber_and_mails_a_confirmation_link(client, segments):
    response = post_committed(
        client,
        SUBSCRIBE,
        form_data(segments=[segments[0].pk]),
        HTTP_USER_AGENT="Mozilla/5.0 (Test)",
        REMOTE_ADDR="192.0.2.10",
    )

    assert response.status_code == 302
    subscriber = Subscriber.objects.get(email="karin.lindqvist@sundbyberg.se")
    assert subscriber.status == SubscriberStatus.PENDING
    assert list(subscriber.segments.all()) == [segments[0]]
    event = subscriber.consent_events.get()
    assert event.action == ConsentAction.SUBSCRIBE
    assert event.source == "web"
    assert event.ip_address == "192.0.2.10"
    assert event.user_agent == "Mozilla/5.0 (Test)"
    assert event.privacy_text_version == settings.PRIVACY_TEXT_VERSION
    assert event.created_at is not None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["karin.lindqvist@sundbyberg.se"]
    assert "/prenumerera/bekrafta/" in message.body
    assert message.alternatives and "/prenumerera/bekrafta/" in message.alternatives[0][0]
    assert not subscribers_mailable(segments=segments).exists()


def test_it_confirms_only_on_post_and_then_the_subscriber_is_active(client, segments):
    post_committed(client, SUBSCRIBE, form_data(segments=[segments[1].pk]))
    path = path_from_text(mail.outbox[0].body, "/prenumerera/bekrafta/")

    page = client.get(path)
    assert page.status_code == 200
    assert Subscriber.objects.get().status == SubscriberStatus.PENDING

    confirmed = client.post(path)
    subscriber = Subscriber.objects.get()
    assert confirmed.status_code == 200
    assert subscriber.status == SubscriberStatus.ACTIVE
    assert subscriber.confirmed_at is not None
    assert subscriber.consent_events.filter(action=ConsentAction.CONFIRM).count() == 1
    assert list(subscribers_mailable(segments=segments)) == [subscriber]


def test_it_refuses_a_confirmation_link_older_than_seven_days(client, segments):
    with signed_in_the_past(8 * 24 * 3600):
        post_committed(client, SUBSCRIBE, form_data())
    path = path_from_text(mail.outbox[0].body, "/prenumerera/bekrafta/")

    response = client.post(path)

    assert response.status_code == 400
    assert "slutat gälla" in response.content.decode()
    assert Subscriber.objects.get().status == SubscriberStatus.PENDING


def test_it_answers_the_same_whether_the_address_is_known_or_not(segments):
    subscriber_make(email="kand@solna.se", status=SubscriberStatus.ACTIVE)
    subscriber_make(email="vantar@solna.se", status=SubscriberStatus.PENDING)
    subscriber_make(email="slutat@solna.se", status=SubscriberStatus.UNSUBSCRIBED)
    answers = []
    for email in ("kand@solna.se", "vantar@solna.se", "slutat@solna.se", "okand@solna.se"):
        client = Client()
        client.get(SUBSCRIBE)
        response = post_committed(client, SUBSCRIBE, form_data(email=email), follow=True)
        answers.append(
            (
                response.status_code,
                tuple(response.redirect_chain),
                page_without_csrf(response.content.decode()),
            )
        )

    assert answers[0][0] == 200
    assert all(answer == answers[0] for answer in answers)
    # The difference is only in the mailbox of the address owner.
    subjects = {message.to[0]: message.subject for message in mail.outbox}
    assert "redan" in subjects["kand@solna.se"]
    assert "Bekräfta" in subjects["okand@solna.se"]


def test_it_mails_an_active_subscriber_their_preference_link_instead_of_a_new_opt_in(client):
    subscriber_make(email="aktiv@nacka.se", status=SubscriberStatus.ACTIVE)

    post_committed(client, SUBSCRIBE, form_data(email="aktiv@nacka.se"))

    assert "/prenumeration/" in mail.outbox[0].body
    assert "/prenumerera/bekrafta/" not in mail.outbox[0].body
    assert Subscriber.objects.get(email="aktiv@nacka.se").status == SubscriberStatus.ACTIVE


def test_it_creates_nothing_when_the_honeypot_is_filled_but_answers_the_same(client):
    human = post_committed(client, SUBSCRIBE, form_data(email="human@taby.se"))
    bot = post_committed(
        client, SUBSCRIBE, form_data(email="bot@taby.se", website="http://spam.example")
    )

    assert (bot.status_code, bot["Location"]) == (human.status_code, human["Location"])
    assert not Subscriber.objects.filter(email="bot@taby.se").exists()
    assert [message.to for message in mail.outbox] == [["human@taby.se"]]


def test_it_refuses_the_post_after_the_limit_within_the_rate_window(client, settings):
    settings.SUBSCRIBE_RATE_LIMIT = "5/10m"
    statuses = [
        post_committed(
            client, SUBSCRIBE, form_data(email=f"person{number}@botkyrka.se")
        ).status_code
        for number in range(6)
    ]

    assert statuses == [302] * 5 + [429]
    assert Subscriber.objects.count() == 5
    refused = post_committed(client, SUBSCRIBE, form_data(email="sjunde@botkyrka.se"))
    assert refused.status_code == 429
    assert "För många försök" in refused.content.decode()
    # Reading the form is not limited.
    assert client.get(SUBSCRIBE).status_code == 200


def test_it_rejects_a_post_without_a_csrf_token():
    client = Client(enforce_csrf_checks=True)

    response = post_committed(client, SUBSCRIBE, form_data())

    assert response.status_code == 403
    assert not Subscriber.objects.exists()


def test_it_asks_for_a_postal_address_for_print_and_ties_errors_to_their_fields(client):
    response = client.post(
        SUBSCRIBE, form_data(channel="print", street="Storgatan 1", postal_code="01234")
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert not Subscriber.objects.exists()
    assert 'id="id_postal_code_error"' in html
    assert 'aria-describedby="id_postal_code_error id_postal_code_helptext"' in html
    assert 'id="id_city_error"' in html and "Fyll i postort" in html
    assert html.count('aria-invalid="true"') == 2


def test_it_normalises_the_postnummer_of_a_print_subscriber(client):
    client.post(
        SUBSCRIBE,
        form_data(channel="email+print", street="Box 22", postal_code="17145", city="Solna"),
    )

    subscriber = Subscriber.objects.get()
    assert (subscriber.channel, subscriber.postal_code) == ("email+print", "171 45")


def test_it_brings_back_an_unsubscribed_address_only_after_a_fresh_confirmation(client):
    former = subscriber_make(email="tillbaka@lidingo.se", status=SubscriberStatus.UNSUBSCRIBED)
    Suppression.objects.create(email=former.email, reason=SuppressionReason.UNSUBSCRIBED)

    post_committed(client, SUBSCRIBE, form_data(email="tillbaka@lidingo.se", language="en"))
    former.refresh_from_db()
    assert former.status == SubscriberStatus.UNSUBSCRIBED
    assert former.language == "sv"
    assert Suppression.objects.filter(email_hash=former.email_hash).exists()
    # Answered in the language chosen in the form, not the one stored from before.
    assert mail.outbox[0].subject == "Confirm your subscription to Länsnytt"

    path = path_from_text(mail.outbox[0].body, "/prenumerera/bekrafta/")
    client.post(path)
    former.refresh_from_db()
    assert former.status == SubscriberStatus.ACTIVE
    assert former.language == "en"
    assert not Suppression.objects.filter(email_hash=former.email_hash).exists()
    confirm = ConsentEvent.objects.get(subscriber=former, action=ConsentAction.CONFIRM)
    assert confirm.detail["suppression_lifted"] == ["unsubscribed"]


def test_it_speaks_english_to_an_english_browser(client):
    html = client.get(SUBSCRIBE, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "<h1>Subscribe to Länsnytt</h1>" in html
    assert 'lang="en"' in html
    assert "Accessibility statement" in html


def test_it_does_not_let_an_old_confirmation_link_undo_an_unsubscribe(client):
    post_committed(client, SUBSCRIBE, form_data(email="vankelmodig@ekero.se"))
    path = path_from_text(mail.outbox[0].body, "/prenumerera/bekrafta/")
    client.post(path)
    subscriber = Subscriber.objects.get()
    client.post(unsubscribe_path(subscriber), {"confirm": "1"})

    response = client.post(path)

    assert response.status_code == 400
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
    assert Suppression.objects.filter(email_hash=subscriber.email_hash).exists()
