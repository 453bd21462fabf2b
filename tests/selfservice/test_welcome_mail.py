"""The welcome email after a confirmed sign-up: once, in the person's language, linking the
latest issue (or the archive before there is one), with the unsubscribe header."""

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client, TestCase

from newsletter.models import IssueStatus
from subscribers.consent import RequestOrigin
from subscribers.models import (
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    Subscriber,
    SubscriberStatus,
)
from subscribers.services import subscriber_unsubscribe
from tests.factories import issue_make
from tests.selfservice.links import committed, path_from_text, post_committed

pytestmark = pytest.mark.django_db

SUBSCRIBE = "/prenumerera/"


@pytest.fixture(autouse=True)
def rate_limit_counters_cleared():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def latest():
    issue_make(year=2018, number=1, status=IssueStatus.PUBLISHED, publication_date="2018-03-15")
    issue_make(year=2018, number=2, status=IssueStatus.PUBLISHED, publication_date="2018-06-15")
    return issue_make(year=2018, number=3, status=IssueStatus.DRAFT)


def _sign_up(client, *, language="sv", email="lina.sjo@solna.se") -> str:
    post_committed(
        client,
        SUBSCRIBE,
        {"name": "Lina Sjö", "email": email, "channel": "email", "language": language},
    )
    return path_from_text(mail.outbox[-1].body, "/prenumerera/bekrafta/")


def _welcomes() -> list:
    return [message for message in mail.outbox if "Välkommen" in message.subject
            or "Welcome" in message.subject]  # fmt: skip


def test_it_welcomes_after_the_confirmation_linking_the_latest_published_issue(client, latest):
    path = _sign_up(client)
    with committed():
        client.post(path)

    (welcome,) = _welcomes()
    html = welcome.alternatives[0][0]
    assert welcome.subject == "Välkommen till Länsnytt"
    assert welcome.to == ["lina.sjo@solna.se"]
    assert "Hej Lina Sjö!" in welcome.body
    assert "/arkiv/2018-2/" in welcome.body and "/arkiv/2018-2/" in html
    assert "2018-3" not in welcome.body  # the draft is not the latest issue
    assert '<html lang="sv">' in html and 'role="presentation"' in html
    assert "/prenumeration/" in welcome.body and "/avregistrera/" in welcome.body
    unsubscribe = welcome.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<http") and "/avregistrera/" in unsubscribe
    assert welcome.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_it_welcomes_in_english_who_signed_up_in_english(client, latest):
    path = _sign_up(client, language="en")
    with committed():
        client.post(path)

    (welcome,) = _welcomes()
    assert welcome.subject == "Welcome to Länsnytt"
    assert "Read the latest issue" in welcome.body
    assert '<html lang="en">' in welcome.alternatives[0][0]


def test_before_the_first_issue_it_links_the_archive(client):
    path = _sign_up(client)
    with committed():
        client.post(path)

    (welcome,) = _welcomes()
    assert "Det första numret är inte publicerat än" in welcome.body
    assert "/arkiv/" in welcome.body


def test_confirming_twice_sends_one_welcome(client, latest):
    path = _sign_up(client)
    for _ in range(2):
        with committed():
            client.post(path)
    with committed():
        Client().post(path)  # the link again, from another browser

    assert len(_welcomes()) == 1
    assert ConsentEvent.objects.filter(action=ConsentAction.CONFIRM).count() == 1


def test_a_forged_confirmation_link_sends_no_welcome(client, latest):
    path = _sign_up(client)
    forged = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    with committed():
        response = client.post(forged)

    assert response.status_code in (400, 404)
    assert _welcomes() == []
    assert Subscriber.objects.get().status == SubscriberStatus.PENDING


def test_no_welcome_when_turned_off(client, latest, settings):
    settings.WELCOME_EMAIL_ENABLED = False
    path = _sign_up(client)
    with committed():
        client.post(path)

    assert _welcomes() == []
    assert Subscriber.objects.get().status == SubscriberStatus.ACTIVE


def test_no_welcome_for_someone_who_left_before_the_task_ran(client, latest):
    path = _sign_up(client)
    with TestCase.captureOnCommitCallbacks(execute=False) as after_commit:
        client.post(path)
    # The confirmation committed and left the welcome's task; the person leaves before it runs.
    subscriber_unsubscribe(
        subscriber=Subscriber.objects.get(), origin=RequestOrigin(), source=ConsentSource.WEB
    )
    (enqueue,) = after_commit
    enqueue()

    assert _welcomes() == []
