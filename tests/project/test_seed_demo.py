"""Demo data: realistic, idempotent, and runnable on the embedded default (SQLite)."""

import io
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import User
from accounts.roles import EDITORS
from subscribers.models import (
    Municipality,
    Organisation,
    OrganisationKind,
    Segment,
    Subscriber,
    SubscriberStatus,
)
from subscribers.selectors import segment_members, segments_with_rules
from tests.commands import embedded_default_env, manage_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_it_seeds_a_readership_once_and_creates_nothing_on_a_second_run(capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    counts = (Organisation.objects.count(), Subscriber.objects.count(), Segment.objects.count())
    emails = set(Subscriber.objects.values_list("email", flat=True))

    call_command("seed_demo")
    second = capsys.readouterr().out

    assert (
        Organisation.objects.count(),
        Subscriber.objects.count(),
        Segment.objects.count(),
    ) == counts
    assert set(Subscriber.objects.values_list("email", flat=True)) == emails
    assert "password" in first and "http://localhost:8000/admin/" in first
    assert "created now: 0 organisations, 0 subscribers, 0 segments" in second
    assert "already exists" in second and "changepassword redaktor" in second


@pytest.mark.django_db
def test_it_gives_every_municipality_a_public_library_and_each_audience_a_segment():
    call_command("seed_demo", stdout=io.StringIO())

    libraries = Organisation.objects.filter(kind=OrganisationKind.COUNTY_PUBLIC_LIBRARY)
    assert set(libraries.values_list("municipality__name", flat=True)) == set(
        Municipality.objects.values_list("name", flat=True)
    )
    assert libraries.count() == 26
    assert all(2 <= library.print_copies <= 10 for library in libraries)
    assert Organisation.objects.filter(kind=OrganisationKind.REGIONAL_LIBRARY).count() == 20
    assert Organisation.objects.get(name="Solna stadsbibliotek").postal_code.startswith("171 ")
    assert Subscriber.objects.filter(organisation__kind="regional_politics").count() == 15
    assert Organisation.objects.filter(kind=OrganisationKind.PARTNER).count() == 10
    assert Subscriber.objects.filter(protected_identity=True).count() == 1
    assert Subscriber.objects.filter(status=SubscriberStatus.PENDING).exists()
    assert Subscriber.objects.filter(status=SubscriberStatus.UNSUBSCRIBED).exists()
    assert set(Subscriber.objects.values_list("channel", flat=True)) == {
        "email",
        "print",
        "email+print",
    }
    assert all(
        email.endswith(("@example.se", "@example.org"))
        for email in Subscriber.objects.values_list("email", flat=True)
    )
    for slug in ["folkbibliotek-i-lanet", "lans-och-regionbibliotek", "regionala-politiker"]:
        assert segment_members(segments=segments_with_rules([slug])).exists(), slug
    assert Segment.objects.filter(public=True).exists()
    editor = User.objects.get(username="redaktor")
    assert editor.is_staff and editor.groups.filter(name=EDITORS).exists()


def test_it_migrates_and_seeds_on_the_embedded_default_without_any_services(tmp_path):
    """A fresh machine with no configuration: SQLite under VAR_DIR, no Redis, no SMTP."""
    env = embedded_default_env(tmp_path)

    def manage(*args: str) -> subprocess.CompletedProcess:
        return manage_run(*args, env=env, timeout=300)

    migrated = manage("migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    seeded = manage("seed_demo")
    assert seeded.returncode == 0, seeded.stderr
    assert "organisations" in seeded.stdout and "http://localhost:8000/admin/" in seeded.stdout
    assert (tmp_path / "lansnytt.sqlite3").stat().st_size > 0
    again = manage("seed_demo")
    assert "created now: 0 organisations, 0 subscribers, 0 segments" in again.stdout
