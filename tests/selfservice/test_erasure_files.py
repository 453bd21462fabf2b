"""Erasure reaches the files lansnytt generated under VAR_DIR: the outbox and print exports."""

from email.message import EmailMessage
from email.utils import formataddr

import pytest
from django.core.management import call_command
from django.db import transaction

from lansnytt.generated_files import (
    OUTBOX,
    PRINT_EXPORTS,
    generated_dir,
    generated_files_forget,
)
from lansnytt.mail import outbox_write
from subscribers.models import Channel, ConsentSource, Subscriber
from subscribers.privacy import subscriber_erase
from subscribers.services import RequestOrigin
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from worker.celery import app

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "karin.lind@vallentuna.se"
TRACES = (b"Karin Lind", ADDRESS.encode(), b"Tuna torg 7")


@pytest.fixture
def var_dir(settings, tmp_path):
    """VAR_DIR and the outbox in a temporary directory, with the embedded default's mail."""
    settings.VAR_DIR = tmp_path
    settings.EMAIL_OUTBOX_DIR = tmp_path / "outbox"
    settings.REDIS_URL = ""
    settings.EMAIL_URL = ""
    settings.EMAIL_BACKEND = "lansnytt.mail.EmlFileBackend"
    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield tmp_path
    app.conf.task_always_eager = was_eager


def _reader_and_neighbour() -> tuple[Subscriber, Subscriber]:
    readers = segment_make(slug="lasare")
    reader = subscriber_make(
        email=ADDRESS,
        name="Karin Lind",
        channel=Channel.BOTH,
        street="Tuna torg 7",
        postal_code="186 70",
        city="Brottby",
        segments=[readers],
    )
    neighbour = subscriber_make(
        email="olle.berg@vallentuna.se",
        name="Olle Berg",
        channel=Channel.BOTH,
        street="Tuna torg 9",
        postal_code="186 70",
        city="Brottby",
        segments=[readers],
    )
    return reader, neighbour


def _files_holding(directory, traces) -> list:
    return [
        path
        for path in directory.rglob("*")
        if path.is_file() and any(trace in path.read_bytes() for trace in traces)
    ]


def test_it_deletes_the_outbox_messages_and_print_exports_that_hold_the_erased_person(
    var_dir, client
):
    reader, neighbour = _reader_and_neighbour()
    issue = sendable_issue_make(slug="2018-1")
    call_command("send_issue", issue.slug)
    for export_format in ("csv", "xlsx", "pdf"):
        call_command("export_print", issue.slug, export_format=export_format, verbosity=0)
    outbox = generated_dir(OUTBOX)
    assert len(list(outbox.glob("*.eml"))) == 2
    assert len(list(generated_dir(PRINT_EXPORTS).iterdir())) == 3
    assert _files_holding(var_dir, TRACES)

    # Erased through the service every entry point uses (the one-time link, the admin); the
    # one-time link's own notice to the person is a message sent after the erasure.
    with transaction.atomic():
        erased = subscriber_erase(
            subscriber=reader, origin=RequestOrigin(), source=ConsentSource.EMAIL
        )

    assert erased
    assert Subscriber.objects.get(pk=reader.pk).status == "erased"
    assert _files_holding(var_dir, TRACES) == []
    assert list(generated_dir(PRINT_EXPORTS).iterdir()) == []
    # The neighbour's message is theirs and stays.
    (kept,) = outbox.glob("*.eml")
    assert neighbour.email.encode() in kept.read_bytes()


def _message(*, to: str, display_name: str = "", cc: str = "", body: str = "Hej!") -> bytes:
    message = EmailMessage()
    message["From"] = "Länsnytt <lansnytt@example.org>"
    message["To"] = formataddr((display_name, to)) if display_name else to
    if cc:
        message["Cc"] = cc
    message["Subject"] = "Länsnytt 2018:1"
    message.set_content(f"{body}\n\nHär kommer numret.\n")
    return message.as_bytes()


def test_it_finds_the_address_however_the_message_writes_it(var_dir):
    outbox = generated_dir(OUTBOX)
    upper_case = outbox_write(_message(to=ADDRESS.upper()))
    # A non-ASCII display name is encoded (RFC 2047); the address is still found.
    encoded_name = outbox_write(_message(to=ADDRESS, display_name="Karin Lind-Åström"))
    copied = outbox_write(_message(to="olle.berg@vallentuna.se", cc=ADDRESS))
    # A message that crashed half-written, in a folder of its own.
    (outbox / "gammalt").mkdir()
    half_written = outbox / "gammalt" / "20181201-0900.part"
    half_written.write_bytes(_message(to=ADDRESS)[:200])
    someone_else = outbox_write(_message(to="karin.lind@vallentuna.se.example.org"))
    namesake = outbox_write(_message(to="annkarin.lind@vallentuna.se"))
    mentioned = outbox_write(
        _message(to="olle.berg@vallentuna.se", body=f"Skriv till {ADDRESS.title()}.")
    )
    # Only in a base64 body, where the raw file does not show it.
    encoded_body = EmailMessage()
    encoded_body["To"] = "olle.berg@vallentuna.se"
    encoded_body.set_content(f"Vidarebefordrat från {ADDRESS}\n", cte="base64")
    in_base64 = outbox_write(encoded_body.as_bytes())
    assert ADDRESS.encode() not in in_base64.read_bytes()

    deleted = generated_files_forget(email=ADDRESS)

    assert set(deleted) == {upper_case, encoded_name, copied, mentioned, in_base64, half_written}
    assert someone_else.exists() and namesake.exists()
    assert generated_files_forget(email=ADDRESS) == []


def test_it_leaves_the_files_alone_when_the_erasure_is_rolled_back(var_dir):
    reader, _neighbour = _reader_and_neighbour()
    message = outbox_write(_message(to=reader.email))

    with pytest.raises(RuntimeError), transaction.atomic():
        subscriber_erase(subscriber=reader, origin=RequestOrigin(), source=ConsentSource.ADMIN)
        raise RuntimeError("the request failed after the erasure")

    assert Subscriber.objects.get(pk=reader.pk).status == "active"
    assert message.exists()
