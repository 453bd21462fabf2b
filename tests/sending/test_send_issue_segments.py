"""What `--segment` and `--all-segments` mean for send_issue (and how unknown slugs are told)."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import segment_make, sendable_issue_make, subscriber_make
from worker.models import Delivery, Dispatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue_with_readers():
    libraries = segment_make(slug="bibliotek")
    partners = segment_make(slug="partners")
    subscriber_make(email="bibliotekarie@example.se", segments=[libraries])
    subscriber_make(email="partner@example.se", segments=[partners])
    subscriber_make(email="utan-segment@example.se", segments=[])
    return sendable_issue_make()


def _mailed() -> list[str]:
    return sorted(Delivery.objects.values_list("email", flat=True))


@pytest.mark.parametrize("arguments", [[], ["--all-segments"]])
def test_it_sends_to_everyone_in_some_segment_without_segment(issue_with_readers, arguments):
    out = io.StringIO()

    call_command("send_issue", issue_with_readers.slug, *arguments, stdout=out)

    assert _mailed() == ["bibliotekarie@example.se", "partner@example.se"]
    assert Dispatch.objects.get().all_segments
    assert "alla segment" in out.getvalue()


def test_it_sends_only_to_the_named_segments_matching_slugs_in_any_case(issue_with_readers):
    call_command(
        "send_issue", issue_with_readers.slug, "--segment", "Bibliotek", stdout=io.StringIO()
    )

    assert _mailed() == ["bibliotekarie@example.se"]
    assert not Dispatch.objects.get().all_segments


def test_it_refuses_segment_and_all_segments_together(issue_with_readers):
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command(
            "send_issue", issue_with_readers.slug, "--segment", "partners", "--all-segments"
        )

    assert not Dispatch.objects.exists()


def test_it_names_every_unknown_segment_in_one_message(issue_with_readers):
    with pytest.raises(CommandError, match="okänt segment: finns-inte, saknas-ocksa"):
        call_command(
            "send_issue",
            issue_with_readers.slug,
            "--segment",
            "saknas-ocksa",
            "--segment",
            "partners",
            "--segment",
            "finns-inte",
        )

    assert not Dispatch.objects.exists()
