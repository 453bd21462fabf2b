"""The address hears of everything a forwarded link could be used for: a one-time link was
asked for, the data was downloaded, the person was erased, the print address or channel
changed. Sent through a real SMTP server on loopback."""

import re

import pytest
from django.core.cache import cache

from tests.factories import subscriber_make
from tests.selfservice.links import post_committed, preferences_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(smtp_server, settings):
    cache.clear()
    for name, value in smtp_server.django_settings().items():
        setattr(settings, name, value)
    return smtp_server


@pytest.fixture
def reader():
    return subscriber_make(
        email="eva.berg@taby.se",
        name="Eva Berg",
        channel="email+print",
        street="Hemvägen 3",
        postal_code="183 30",
        city="Täby",
    )


def subject_of(message) -> str:
    # A long encoded subject is folded onto the next line, which leaves a leading space.
    return str(message["Subject"]).strip()


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def one_time_path(message) -> str:
    return re.search(r"http://\S+(/mina-uppgifter/\S+/)", text_of(message)).group(1)


def test_it_mails_the_link_and_then_says_when_the_data_was_downloaded(client, smtp, reader):
    post_committed(client, preferences_path(reader) + "mina-uppgifter/", {"kind": "export"})
    (link_mail,) = smtp.wait_for_messages(1)
    assert link_mail["To"] == "eva.berg@taby.se"
    assert subject_of(link_mail) == "Länk för att ladda ner dina uppgifter från Länsnytt"
    assert "Har du inte bett om det behöver du inte göra något" in text_of(link_mail)
    assert 'lang="sv"' in link_mail.get_body(preferencelist=("html",)).get_content()

    download = post_committed(client, one_time_path(link_mail), {"file_format": "csv"})

    assert download.status_code == 200
    _link_mail, done = smtp.wait_for_messages(2)
    assert done["To"] == "eva.berg@taby.se"
    assert subject_of(done) == "Dina uppgifter från Länsnytt har laddats ner"
    assert "Var det inte du? Skriv till" in text_of(done)


def test_it_tells_the_old_address_that_the_erasure_was_done(client, smtp, reader):
    post_committed(client, preferences_path(reader) + "mina-uppgifter/", {"kind": "erase"})
    (link_mail,) = smtp.wait_for_messages(1)
    assert subject_of(link_mail) == "Länk för att radera dina uppgifter hos Länsnytt"

    post_committed(client, one_time_path(link_mail))

    _link_mail, done = smtp.wait_for_messages(2)
    assert smtp.recipients() == ["eva.berg@taby.se", "eva.berg@taby.se"]
    assert subject_of(done) == "Dina uppgifter hos Länsnytt är raderade"
    assert "Eva" not in text_of(done)  # nothing about the person is left to say
    reader.refresh_from_db()
    assert reader.email.endswith("@erased.invalid")


def test_it_confirms_a_changed_print_address_to_the_address(client, smtp, reader):
    post_committed(
        client,
        preferences_path(reader),
        {
            "channel": "print",
            "language": "en",
            "street": "Ombudsvägen 9",
            "postal_code": "11122",
            "city": "Stockholm",
        },
    )

    (message,) = smtp.wait_for_messages(1)
    text = text_of(message)
    assert message["To"] == "eva.berg@taby.se"
    assert subject_of(message) == "Your Länsnytt choices were changed"
    assert "Email and print became Print." in text
    assert "Ombudsvägen 9\n111 22 Stockholm" in text
    assert "/prenumeration/" in text  # to change it back


def test_it_mails_nothing_when_only_topics_or_language_change(client, smtp, reader):
    post_committed(
        client,
        preferences_path(reader),
        {
            "channel": "email+print",
            "language": "en",
            "street": "Hemvägen 3",
            "postal_code": "183 30",
            "city": "Täby",
        },
    )

    assert reader.consent_events.count() == 1
    assert smtp.recipients() == []
