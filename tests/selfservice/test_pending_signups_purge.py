"""Sign-ups nobody confirmed are not kept for ever: the purge after
PENDING_SIGNUP_RETENTION_DAYS deletes them, and only them."""

from datetime import timedelta

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.utils import timezone

from subscribers.models import (
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    Subscriber,
    SubscriberStatus,
)
from subscribers.services import RequestOrigin, consent_event_log
from subscribers.tasks import pending_signups_purge_task
from tests.factories import segment_make, subscriber_make
from worker.celery import app

pytestmark = pytest.mark.django_db

SIGNUP_ORIGIN = RequestOrigin(ip_address="192.0.2.44", user_agent="Mozilla/5.0 (Sign-up)")


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def signup_make(*, email: str, days: float, status=SubscriberStatus.PENDING, **fields):
    """A sign-up through the form `days` ago: the row and its event, both back-dated."""
    subscriber = subscriber_make(email=email, status=status, **fields)
    event = signup_event_make(subscriber, days=days)
    Subscriber.objects.filter(pk=subscriber.pk).update(created_at=days_ago(days))
    return subscriber, event


def signup_event_make(subscriber, *, days: float, action=ConsentAction.SUBSCRIBE, **kwargs):
    event = consent_event_log(
        subscriber=subscriber,
        action=action,
        source=kwargs.pop("source", ConsentSource.WEB),
        origin=SIGNUP_ORIGIN,
        detail={"request": {"name": subscriber.name, "street": "Hemvägen 1"}},
    )
    # The log refuses changes through the model; back-dating is the test's own doing.
    ConsentEvent.objects.filter(pk=event.pk).update(created_at=days_ago(days))
    return event


def test_it_deletes_a_pending_sign_up_older_than_the_retention_with_its_consent_log():
    segment = segment_make(slug="nyheter", public=True)
    stale, _event = signup_make(email="glomd@example.se", days=31, segments=[segment])

    result = pending_signups_purge_task.delay()

    assert result.successful()
    assert not Subscriber.objects.filter(pk=stale.pk).exists()
    assert not ConsentEvent.objects.filter(subscriber_id=stale.pk).exists()
    assert segment.explicit_members.count() == 0


def test_it_keeps_every_sign_up_that_is_not_old_pending_and_unconfirmed():
    recent, _ = signup_make(email="ny@example.se", days=29)
    again, first_attempt = signup_make(email="igen@example.se", days=45)
    signup_event_make(again, days=2)  # signed up again: a fresh link is out
    confirmed, _ = signup_make(email="bekraftad@example.se", days=90)
    signup_event_make(confirmed, days=89, action=ConsentAction.CONFIRM)
    Subscriber.objects.filter(pk=confirmed.pk).update(
        status=SubscriberStatus.ACTIVE, confirmed_at=days_ago(89)
    )
    imported = subscriber_make(email="importerad@example.se", status=SubscriberStatus.PENDING)
    signup_event_make(imported, days=60, action=ConsentAction.IMPORT, source=ConsentSource.IMPORT)
    Subscriber.objects.filter(pk=imported.pk).update(created_at=days_ago(60))
    kept = {recent.pk, again.pk, confirmed.pk, imported.pk}
    events = ConsentEvent.objects.exclude(pk=first_attempt.pk).order_by("pk")
    events_before = list(events.values())

    call_command("purge_pending_signups")

    assert set(Subscriber.objects.values_list("pk", flat=True)) == kept
    assert list(events.values()) == events_before
    # The person's first, stale attempt loses its IP address; the new one is what counts.
    assert ConsentEvent.objects.get(pk=first_attempt.pk).ip_address is None


def test_it_clears_an_old_unconfirmed_attempt_but_not_the_sign_up_that_was_confirmed():
    reader, first_signup = signup_make(
        email="lasare@example.se", days=400, status=SubscriberStatus.UNSUBSCRIBED
    )
    confirm = signup_event_make(reader, days=399, action=ConsentAction.CONFIRM)
    attempt = signup_event_make(reader, days=40)  # tried to come back, never confirmed
    fresh_attempt = signup_event_make(reader, days=3)

    call_command("purge_pending_signups")

    assert Subscriber.objects.filter(pk=reader.pk, status=SubscriberStatus.UNSUBSCRIBED).exists()
    attempt = ConsentEvent.objects.get(pk=attempt.pk)
    assert (attempt.ip_address, attempt.user_agent, attempt.detail) == (
        None,
        "",
        {"redacted": True},
    )
    for kept in (first_signup, confirm, fresh_attempt):
        kept_now = ConsentEvent.objects.get(pk=kept.pk)
        assert (kept_now.ip_address, kept_now.user_agent) == (
            "192.0.2.44",
            SIGNUP_ORIGIN.user_agent,
        )
        assert kept_now.detail == kept.detail


def test_it_follows_the_retention_setting_and_says_what_it_did(settings, capsys):
    settings.PENDING_SIGNUP_RETENTION_DAYS = 60
    within, _ = signup_make(email="inom@example.se", days=45)
    beyond, _ = signup_make(email="utanfor@example.se", days=61)

    call_command("purge_pending_signups")

    assert list(Subscriber.objects.values_list("pk", flat=True)) == [within.pk]
    assert "1 obekräftade anmälningar borttagna" in capsys.readouterr().out
    assert not Subscriber.objects.filter(pk=beyond.pk).exists()


def test_it_is_scheduled_in_celery_beat_as_a_registered_task():
    app.loader.import_default_modules()
    entries = [entry["task"] for entry in app.conf.beat_schedule.values()]

    assert "subscribers.tasks.pending_signups_purge_task" in entries
    assert "subscribers.tasks.pending_signups_purge_task" in app.tasks


def test_it_refuses_a_retention_shorter_than_a_confirmation_links_life(settings):
    settings.PENDING_SIGNUP_RETENTION_DAYS = 3

    errors = [message for message in run_checks() if message.id == "subscribers.E004"]

    assert len(errors) == 1 and "PENDING_SIGNUP_RETENTION_DAYS" in errors[0].msg
