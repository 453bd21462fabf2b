"""The demo's issue, sent in process as `make demo` does: its report tells the demo's numbers."""

import io

import pytest
from django.core.management import call_command

from newsletter.demo import demo_issue_ensure
from worker.celery import app
from worker.management.commands.demo import Command as DemoCommand

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def embedded(settings, tmp_path):
    settings.REDIS_URL = ""
    settings.EMAIL_URL = ""
    settings.EMAIL_OUTBOX_DIR = tmp_path / "outbox"
    # The Celery app read its configuration once; the settings fixture cannot reach it.
    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was_eager


def test_the_demo_issue_reached_58_organisations_106_people_and_154_copies(embedded, admin_client):
    call_command("seed_demo", stdout=io.StringIO())
    issue = demo_issue_ensure()
    DemoCommand(stdout=io.StringIO())._send(issue)

    page = admin_client.get(f"/personal/rapport/{issue.slug}/").content.decode()

    assert (
        "Länsnytt 2018:1 nådde 58 organisationer: 106 personer via e-post och 154 exemplar i tryck"
        in page
    )
