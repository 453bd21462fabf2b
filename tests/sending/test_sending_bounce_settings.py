"""The bounce settings' system checks: a mailbox URL we cannot use, a password in the clear,
a return-path base that already has a '+'."""

from django.core.checks import run_checks


def _ids(settings) -> set[str]:
    return {message.id for message in run_checks() if message.id.startswith("worker.E00")}


def test_it_refuses_a_mailbox_url_it_cannot_poll(settings):
    settings.BOUNCE_MAILBOX_URL = "pop3s://studs:hemligt@mail.example.org/"

    assert "worker.E003" in _ids(settings)


def test_it_refuses_plain_imap_to_another_machine_in_production(settings):
    settings.BOUNCE_MAILBOX_URL = "imap://studs:hemligt@mail.example.org/INBOX"
    settings.DEBUG = False

    assert "worker.E004" in _ids(settings)


def test_it_allows_plain_imap_on_loopback_and_imaps_anywhere(settings):
    settings.DEBUG = False
    for url in ("imap://studs:x@127.0.0.1:1143/INBOX", "imaps://studs:x@mail.example.org/INBOX"):
        settings.BOUNCE_MAILBOX_URL = url
        assert not {"worker.E003", "worker.E004"} & _ids(settings)


def test_it_refuses_a_bounce_address_with_its_own_plus(settings):
    settings.BOUNCE_ADDRESS = "bounces+lansnytt@example.org"

    assert "worker.E005" in _ids(settings)
