"""The embedded default: no broker, no mail server; tasks run in-process, mail lands as .eml."""

from email import message_from_bytes, policy

import pytest
from django.core.management import call_command

from tests.factories import segment_make, sendable_issue_make, subscriber_make
from worker.celery import app
from worker.models import Delivery, DeliveryStatus, Dispatch, DispatchStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def embedded(settings, tmp_path):
    settings.REDIS_URL = ""
    settings.EMAIL_URL = ""
    settings.EMAIL_OUTBOX_DIR = tmp_path / "outbox"
    settings.SEND_BATCH_SIZE = 3
    # The Celery app read its configuration once; the settings fixture cannot reach it.
    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield settings.EMAIL_OUTBOX_DIR
    app.conf.task_always_eager = was_eager


def test_it_sends_a_whole_issue_in_process_to_eml_files(embedded):
    libraries = segment_make(slug="bibliotek")
    people = [
        subscriber_make(email=f"lasare{n}@example.se", name=f"Läsare {n}", segments=[libraries])
        for n in range(7)
    ]
    issue = sendable_issue_make()

    call_command("send_issue", issue.slug)

    dispatch = Dispatch.objects.get()
    assert dispatch.status == DispatchStatus.DONE
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 7
    files = sorted(embedded.glob("*.eml"))
    assert len(files) == 7
    recipients = {
        message_from_bytes(path.read_bytes(), policy=policy.default)["To"].addresses[0].addr_spec
        for path in files
    }
    assert recipients == {person.email for person in people}


def test_it_sends_the_demo_issue_to_all_segments_from_the_demo_step(embedded, capsys):
    from worker.management.commands.demo import Command

    readers = segment_make(slug="lasare")
    subscriber_make(email="lasare@example.se", segments=[readers])
    issue = sendable_issue_make(slug="2018-1")

    Command()._send(issue)

    output = capsys.readouterr().out
    assert "1 skickade" in output
    assert str(embedded) in output
    assert len(list(embedded.glob("*.eml"))) == 1


def test_the_demo_writes_the_published_issue_s_pdf_edition_and_its_deposit_metadata(
    embedded, capsys, settings, tmp_path
):
    import json

    from worker.management.commands.demo import Command

    settings.VAR_DIR = tmp_path / "var"
    readers = segment_make(slug="lasare")
    subscriber_make(email="lasare@example.se", segments=[readers])
    issue = sendable_issue_make(slug="2018-1")
    demo = Command()

    demo._edition_export(issue)  # not published yet: nothing to deposit
    assert not (settings.VAR_DIR / "edition").exists()
    demo._send(issue)
    demo._edition_export(issue)

    edition = settings.VAR_DIR / "edition"
    pdf = edition / "lansnytt-2018-1.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    metadata = json.loads(next(edition.glob("*.json")).read_text())
    assert "lasare@example.se" not in json.dumps(metadata)
    assert str(pdf) in capsys.readouterr().out
