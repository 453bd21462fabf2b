"""A forwarded newsletter must not hand over the reader.

The preference and unsubscribe links never expire and travel with every forwarded
message. Whoever holds them can change preferences and unsubscribe, nothing more: export
and erasure take a one-time link that is mailed to the address, works once, for an hour,
for that person only.
"""

import json
import threading
import time
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from subscribers.models import (
    ConsentAction,
    ConsentSource,
    PrivacyRequest,
    PrivacyRequestKind,
    Subscriber,
    SubscriberStatus,
)
from subscribers.privacy_links import PrivacyLinkUsed, privacy_export_carry_out
from subscribers.services import RequestOrigin, consent_event_log
from subscribers.tokens import (
    CONFIRM,
    PREFERENCES,
    privacy_token_make,
    privacy_token_request,
    token_make,
)
from tests.factories import subscriber_make
from tests.selfservice.links import (
    post_committed,
    preferences_path,
    privacy_link_request,
    signed_in_the_past,
    unsubscribe_path,
)

pytestmark = pytest.mark.django_db

SIGNUP_IP = "198.51.100.23"


@pytest.fixture(autouse=True)
def rate_limit_counters_cleared():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def reader():
    reader = subscriber_make(
        email="maja.ek@jarfalla.se",
        name="Maja Ek",
        channel="email+print",
        street="Riddarplatsen 5",
        postal_code="177 30",
        city="Järfälla",
    )
    consent_event_log(
        subscriber=reader,
        action=ConsentAction.SUBSCRIBE,
        source=ConsentSource.WEB,
        origin=RequestOrigin(ip_address=SIGNUP_IP, user_agent="Safari/17"),
    )
    return reader


def nothing_handed_out_or_erased(reader) -> None:
    reader = Subscriber.objects.get(pk=reader.pk)
    assert reader.status != SubscriberStatus.ERASED
    assert reader.email == "maja.ek@jarfalla.se"
    assert not reader.consent_events.filter(
        action__in=(ConsentAction.EXPORT, ConsentAction.ERASE)
    ).exists()


class _Forms(HTMLParser):
    """Links and forms of a page, as a person (or a script) clicking through it sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href", "").startswith("/"):
            self.links.append(attrs["href"])
        elif tag == "form" and attrs.get("method") == "post":
            self.forms.append({"action": attrs.get("action", ""), "fields": {}, "buttons": []})
        elif tag == "input" and self.forms and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value", "")
        elif tag == "button" and self.forms:
            self.forms[-1]["buttons"].append((attrs.get("name"), attrs.get("value", "")))


def test_it_hands_out_and_erases_nothing_to_whoever_clicks_through_a_forwarded_newsletter(reader):
    # The two links of a newsletter, and the old export and erase URLs, in the hands of
    # whoever it was forwarded to: follow every link and press every button on every page.
    stranger = Client()
    preferences = preferences_path(reader)
    start = [preferences, unsubscribe_path(reader)]
    start += [preferences + old for old in ("mina-uppgifter.json", "radera/")]
    pages = _click_everything(stranger, start)

    visited = {urlsplit(page.request["PATH_INFO"]).path for page in pages}
    assert preferences + "mina-uppgifter/" in visited  # the request page was reached
    for page in pages:
        assert "attachment" not in page.get("Content-Disposition", "")
        assert SIGNUP_IP not in page.content.decode()
        assert "Safari/17" not in page.content.decode()
    nothing_handed_out_or_erased(reader)
    # The buttons that mail something mailed the owner, and no page shows what was sent.
    assert mail.outbox and {a for message in mail.outbox for a in message.to} == {reader.email}
    sent_paths = [path for message in mail.outbox for path in _privacy_paths(message.body)]
    assert sent_paths
    assert not any(path in page.content.decode() for path in sent_paths for page in pages)


def _click_everything(client, start: list[str]) -> list:
    pages, done, queue = [], set(), [("get", path, {}) for path in start]
    while queue and len(pages) < 60:
        method, path, data = queue.pop(0)
        key = (method, path, tuple(sorted(data.items())))
        if key in done or not path.startswith(("/prenumeration/", "/avregistrera/")):
            continue
        done.add(key)
        page = (
            post_committed(client, path, data, follow=True)
            if method == "post"
            else (client.get(path, follow=True))
        )
        pages.append(page)
        here = page.request["PATH_INFO"]
        parsed = _Forms()
        parsed.feed(page.content.decode())
        queue += [("get", link, {}) for link in parsed.links]
        for form in parsed.forms:
            action = urlsplit(urljoin(here, form["action"] or here)).path
            for name, value in form["buttons"] or [(None, "")]:
                queue.append(
                    ("post", action, {**form["fields"], **({name: value} if name else {})})
                )
    return pages


def _privacy_paths(body: str) -> list[str]:
    return [urlsplit(word).path for word in body.split() if "/mina-uppgifter/" in word]


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("old_path", ["mina-uppgifter.json", "mina-uppgifter.csv", "radera/"])
def test_it_sends_the_old_export_and_erase_urls_to_the_request_page(reader, old_path, method):
    response = getattr(Client(), method)(preferences_path(reader) + old_path)

    assert response.status_code == 303
    assert response["Location"] == preferences_path(reader) + "mina-uppgifter/"
    assert mail.outbox == []
    nothing_handed_out_or_erased(reader)
    assert not PrivacyRequest.objects.exists()


def test_it_mails_the_one_time_link_to_the_address_and_logs_who_asked(client, reader):
    response = post_committed(
        client,
        preferences_path(reader) + "mina-uppgifter/",
        {"kind": "erase"},
        REMOTE_ADDR="203.0.113.50",
        HTTP_USER_AGENT="Firefox/140",
    )

    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Vi har skickat en länk för att radera dina uppgifter till maja.ek@jarfalla.se" in page
    (message,) = mail.outbox
    assert message.to == [reader.email]
    assert message.subject == "Länk för att radera dina uppgifter hos Länsnytt"
    assert "en gång och i 60 minuter" in message.body
    assert _privacy_paths(message.body)[0] not in page
    event = reader.consent_events.get(action=ConsentAction.ERASE_REQUEST)
    assert (event.ip_address, event.user_agent) == ("203.0.113.50", "Firefox/140")
    nothing_handed_out_or_erased(reader)


def test_it_asks_with_a_button_before_exporting_and_a_get_uses_nothing(client, reader):
    link = privacy_link_request(client, reader, "export")

    for _ in range(2):  # a mail scanner, then the person
        page = client.get(link)
        assert page.status_code == 200
        assert "Ladda ner mina uppgifter (JSON)" in page.content.decode()
    nothing_handed_out_or_erased(reader)
    assert PrivacyRequest.objects.get().used_at is None


def test_it_works_once_and_not_twice(client, reader):
    link = privacy_link_request(client, reader, "export")

    first = post_committed(client, link, {"file_format": "json"})
    second = post_committed(client, link, {"file_format": "csv"})
    third = client.get(link)

    assert first.status_code == 200
    assert json.loads(first.content)["subscriber"]["email"] == reader.email
    assert (second.status_code, third.status_code) == (410, 410)
    assert "redan använts" in second.content.decode()
    assert reader.consent_events.filter(action=ConsentAction.EXPORT).count() == 1


def test_it_refuses_a_link_after_its_hour(client, reader):
    with signed_in_the_past(61 * 60):
        link = privacy_link_request(client, reader, "erase")

    responses = [client.get(link), post_committed(client, link)]

    assert [response.status_code for response in responses] == [400, 400]
    assert "gäller i en timme" in responses[1].content.decode()
    nothing_handed_out_or_erased(reader)


def test_it_still_works_within_the_hour(client, reader):
    with signed_in_the_past(58 * 60):
        link = privacy_link_request(client, reader, "export")

    assert post_committed(client, link, {"file_format": "json"}).status_code == 200


def test_it_refuses_a_request_older_than_an_hour_even_with_a_freshly_signed_token(client, reader):
    # Should the token's own clock be got round (a task delayed, a key leaked), the
    # request row still says when it was made.
    old = PrivacyRequest.objects.create(subscriber=reader, kind=PrivacyRequestKind.ERASE)
    PrivacyRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=2))
    token = privacy_token_make(
        privacy_request_id=old.pk, subscriber_id=reader.pk, email=reader.email
    )

    response = post_committed(client, f"/mina-uppgifter/{token}/")

    assert response.status_code == 410
    nothing_handed_out_or_erased(reader)


def test_it_refuses_a_link_made_for_another_subscriber(client, reader):
    other = subscriber_make(email="annan@solna.se")
    link = privacy_link_request(client, reader, "erase")
    own_request = PrivacyRequest.objects.get(subscriber=reader)
    # The request of one person with the identity of another, and the reverse.
    swapped = [
        privacy_token_make(
            privacy_request_id=own_request.pk, subscriber_id=other.pk, email=other.email
        ),
        privacy_token_make(
            privacy_request_id=own_request.pk, subscriber_id=reader.pk, email=other.email
        ),
    ]

    responses = [post_committed(client, f"/mina-uppgifter/{token}/") for token in swapped]

    assert [response.status_code for response in responses] == [400, 400]
    nothing_handed_out_or_erased(reader)
    assert Subscriber.objects.get(pk=other.pk).status == SubscriberStatus.ACTIVE
    assert post_committed(client, link).status_code == 200  # the real one still works


def test_it_refuses_an_altered_or_borrowed_token(client, reader):
    link = privacy_link_request(client, reader, "erase")
    token = link.rstrip("/").rsplit("/", 1)[1]
    request_id = PrivacyRequest.objects.get().pk
    bad = {
        "altered_request": token.replace(f"{request_id}.", f"{request_id + 1}.", 1),
        "altered_signature": token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        "truncated": token[:-4],
        "preference_token": token_make(
            purpose=PREFERENCES, subscriber_id=reader.pk, email=reader.email
        ),
        "confirm_token": token_make(purpose=CONFIRM, subscriber_id=reader.pk, email=reader.email),
    }

    for kind, value in bad.items():
        response = post_committed(client, f"/mina-uppgifter/{value}/")
        assert response.status_code == 400, kind
        assert "Länken fungerar inte" in response.content.decode()
    nothing_handed_out_or_erased(reader)


def test_it_kills_the_link_when_the_person_is_erased_by_other_means(client, reader):
    export_link = privacy_link_request(client, reader, "export")
    erase_link = privacy_link_request(client, reader, "erase")
    post_committed(client, erase_link)

    response = post_committed(client, export_link, {"file_format": "json"})

    assert response.status_code == 400
    assert not privacy_token_request_works(export_link)


def privacy_token_request_works(link: str) -> bool:
    try:
        privacy_token_request(token=link.rstrip("/").rsplit("/", 1)[1])
    except Exception:
        return False
    return True


def test_it_limits_how_many_links_one_preference_link_can_mail(client, reader, settings):
    settings.PRIVACY_REQUEST_RATE_LIMIT = "3/h"
    path = preferences_path(reader) + "mina-uppgifter/"

    statuses = [post_committed(client, path, {"kind": "export"}).status_code for _ in range(4)]

    assert statuses == [302, 302, 302, 429]
    assert len(mail.outbox) == 3
    assert "För många försök" in post_committed(client, path, {"kind": "erase"}).content.decode()


def test_it_answers_a_made_up_kind_with_an_error_and_mails_nothing(client, reader):
    response = post_committed(client, preferences_path(reader) + "mina-uppgifter/", {"kind": "all"})

    assert response.status_code == 400
    assert "Välj om du vill ladda ner eller radera" in response.content.decode()
    assert mail.outbox == [] and not PrivacyRequest.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_lets_only_one_of_two_simultaneous_uses_through():
    reader = subscriber_make(email="dubbel@nacka.se")
    privacy_request = PrivacyRequest.objects.create(subscriber=reader, kind="export")
    privacy_request.subscriber = reader
    first_claimed, release, second_done = threading.Event(), threading.Event(), threading.Event()
    outcomes: dict[str, str] = {}

    def first() -> None:
        try:
            with transaction.atomic():  # holds the claim uncommitted until released
                privacy_export_carry_out(privacy_request=privacy_request, origin=RequestOrigin())
                first_claimed.set()
                release.wait(10)
            outcomes["first"] = "exported"
        finally:
            connection.close()

    def second() -> None:
        try:
            first_claimed.wait(10)
            privacy_export_carry_out(privacy_request=privacy_request, origin=RequestOrigin())
            outcomes["second"] = "exported"
        except PrivacyLinkUsed:
            outcomes["second"] = "refused"
        finally:
            second_done.set()
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert first_claimed.wait(10)
    time.sleep(0.5)
    # The second click is waiting for the first one's row lock, not already past it.
    assert not second_done.is_set()
    release.set()
    for thread in threads:
        thread.join(10)

    assert outcomes == {"first": "exported", "second": "refused"}
    assert reader.consent_events.filter(action=ConsentAction.EXPORT).count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_answers_two_simultaneous_clicks_with_one_download_and_one_refusal():
    cache.clear()
    reader = subscriber_make(email="dubbelklick@nacka.se")
    link = privacy_link_request(Client(), reader, "export")
    start = threading.Barrier(2)
    statuses: list[int] = []

    def click() -> None:
        try:
            start.wait(10)
            statuses.append(Client().post(link, {"file_format": "json"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert sorted(statuses) == [200, 410]
    assert reader.consent_events.filter(action=ConsentAction.EXPORT).count() == 1
