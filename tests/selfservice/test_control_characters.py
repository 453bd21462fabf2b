"""A line break typed into a name or an address line must not write lines of its own into
a mail: the forms refuse control characters with a clear message, and whatever is already
stored (from an import or the admin) is cleaned on the way into any message."""

import pytest
from django.core import mail
from django.core.cache import cache

from newsletter.personalisation import NAME, personal_values
from subscribers.models import Subscriber, SubscriberStatus
from tests.factories import subscriber_make
from tests.selfservice.links import post_committed, preferences_path

pytestmark = pytest.mark.django_db

SUBSCRIBE = "/prenumerera/"
CONTROL = ["\r\n", "\n", "\r", "\t", "\x0b", "\x1b", "\x85", "\u2028", "\u2029", "\u202e"]
MESSAGE = "får inte innehålla radbrytningar, tabbar eller andra styrtecken"


@pytest.fixture(autouse=True)
def rate_limit_counters_cleared():
    cache.clear()
    yield
    cache.clear()


def signup(**overrides) -> dict:
    data = {"name": "Karin Lind", "email": "karin@sundbyberg.se", "channel": "email"}
    return {**data, "language": "sv", **overrides}


@pytest.mark.parametrize("character", CONTROL, ids=[repr(c) for c in CONTROL])
def test_it_refuses_a_name_with_a_control_character_and_says_why(client, character):
    response = post_committed(
        client, SUBSCRIBE, signup(name=f"Karin{character}Bcc: alla@example.org")
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert f'<p class="field-error" id="id_name_error">{MESSAGE}</p>' in html
    name_input = html.split('name="name"')[1].split(">")[0]
    assert 'aria-invalid="true"' in name_input and 'aria-describedby="id_name_error"' in name_input
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("field", ["organisation", "street", "city"])
def test_it_refuses_control_characters_in_the_other_lines_of_the_sign_up(client, field):
    data = signup(channel="print", street="Storgatan 1", postal_code="172 66", city="Sundbyberg")
    data[field] = "Storgatan 1\r\nKlicka här: http://example.invalid/"

    response = post_committed(client, SUBSCRIBE, data)

    assert f'id="id_{field}_error">{MESSAGE}' in response.content.decode()
    assert not Subscriber.objects.exists() and mail.outbox == []


def test_it_refuses_a_control_character_in_a_changed_print_address(client):
    reader = subscriber_make(email="lasare@solna.se")

    response = post_committed(
        client,
        preferences_path(reader),
        {
            "channel": "print",
            "language": "sv",
            "street": "Gatan 1\nc/o Någon annan",
            "postal_code": "171 45",
            "city": "Solna",
        },
    )

    assert f'id="id_street_error">{MESSAGE}' in response.content.decode()
    reader.refresh_from_db()
    assert (reader.channel, reader.street) == ("email", "")
    assert mail.outbox == []


def test_it_keeps_a_stored_name_with_line_breaks_on_one_line_in_the_mail(client):
    # Put there before this check existed, or by an import: the mail cleans it anyway.
    subscriber_make(
        email="gammal@solna.se",
        name="Eva\r\nBcc: alla@example.org\r\n\r\nKlicka här: http://example.invalid/",
        status=SubscriberStatus.UNSUBSCRIBED,
    )

    post_committed(client, SUBSCRIBE, signup(email="gammal@solna.se", name="Eva"))

    (message,) = mail.outbox
    lines = message.body.splitlines()
    assert lines[0] == "Hej Eva Bcc: alla@example.org Klicka här: http://example.invalid/!"
    assert not any(line.startswith(("Bcc", "Klicka")) for line in lines)
    html = message.alternatives[0][0]
    assert "Eva Bcc: alla@example.org Klicka här" in html
    assert message.extra_headers == {} and message.bcc == []


def test_it_keeps_the_newsletter_greeting_on_one_line_too():
    values = personal_values(
        name="Eva\u2028Bcc: alla@example.org\x85Klicka",
        preferences_url="https://example.org/p/",
        unsubscribe_url="https://example.org/a/",
        language="sv",
    )

    assert values.text[NAME] == "Eva Bcc: alla@example.org Klicka"
