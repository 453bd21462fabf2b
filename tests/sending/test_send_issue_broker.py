"""`send_issue` looks at the broker before it creates a dispatch that starts now: with Redis
away it creates nothing and says which queue did not answer, instead of planning a dispatch,
marking it as sending and ending in a traceback with no task queued. The command runs as an
operator runs it (a process of its own), against a port where nothing listens."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.commands import manage_run, testdb_env
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.smtp import free_port
from worker.models import Delivery, Dispatch, DispatchStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def issue_with_readers(settings, smtp_server):
    settings.EMAIL_URL = smtp_server.url
    readers = segment_make(slug="lasare")
    for n in range(3):
        subscriber_make(email=f"lasare{n}@example.se", segments=[readers])
    return sendable_issue_make()


def _env_without_broker() -> dict[str, str]:
    env = testdb_env()
    env.pop("TEST_DATABASE_NAME", None)
    # A port of this machine where nothing listens: refused at once.
    env["REDIS_URL"] = f"redis://:hemligt@127.0.0.1:{free_port()}/0"
    return env


def test_with_the_broker_away_it_creates_nothing_and_names_the_queue(issue_with_readers):
    done = manage_run("send_issue", issue_with_readers.slug, env=_env_without_broker())

    assert done.returncode == 1, done.stdout + done.stderr
    assert "svarar inte" in done.stderr and "Inget utskick har skapats" in done.stderr
    assert "127.0.0.1" in done.stderr
    assert "hemligt" not in done.stderr  # the password is masked
    assert "Traceback" not in done.stderr
    assert not Dispatch.objects.exists()
    assert not Delivery.objects.exists()


def test_a_dispatch_scheduled_for_later_does_not_need_the_broker_now(issue_with_readers):
    later = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    done = manage_run(
        "send_issue", issue_with_readers.slug, "--schedule", later, env=_env_without_broker()
    )

    assert done.returncode == 0, done.stderr
    assert Dispatch.objects.get().status == DispatchStatus.PLANNED


def test_with_the_broker_there_the_dispatch_is_handed_to_the_workers(issue_with_readers):
    env = testdb_env()
    env.pop("TEST_DATABASE_NAME", None)

    done = manage_run("send_issue", issue_with_readers.slug, env=env)

    assert done.returncode == 0, done.stderr
    dispatch = Dispatch.objects.get()
    assert dispatch.status == DispatchStatus.SENDING
    assert Delivery.objects.filter(dispatch=dispatch).count() == 3
