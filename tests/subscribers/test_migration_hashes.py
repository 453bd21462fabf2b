"""Migrating a database with unkeyed address hashes: rows with an address get the keyed hash,
erased entries keep blocking their addresses, and migrating back never loses a block."""

import hashlib

import pytest
from django.contrib.auth.models import Group, Permission
from django.db.migrations.exceptions import IrreversibleError

from accounts.roles import ADMINISTRATORS, DISTRIBUTION_STAFF, EDITORS
from subscribers.importing import subscribers_import
from subscribers.models import HashVersion, Subscriber, Suppression
from subscribers.privacy import address_suppressed
from subscribers.validation import email_hash
from tests.printing.previous_schema import latest_schema, migrate_to

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_KEYED_HASHES = [("subscribers", "0005_print_runs_to_printing")]
BEFORE_EXPORT_PERMISSION = [("subscribers", "0006_suppression_keyed_email_hashes")]


def _old_hash(email: str) -> str:
    """The hash as the code before EMAIL_HASH_KEY made it, written out."""
    return hashlib.sha256(f"lansnytt-suppression:{email}".encode()).hexdigest()


@pytest.fixture
def unkeyed_schema():
    try:
        yield migrate_to(BEFORE_KEYED_HASHES)
    finally:
        migrate_to(latest_schema())


def _old_data_make(apps) -> None:
    Subscriber = apps.get_model("subscribers", "Subscriber")
    Suppression = apps.get_model("subscribers", "Suppression")
    for email, status in (
        ("aktiv@example.se", "active"),
        ("avregistrerad@example.se", "unsubscribed"),
        ("tillbaka@example.se", "pending"),
    ):
        Subscriber.objects.create(email=email, email_hash=_old_hash(email), status=status)
    Subscriber.objects.create(
        email="erased-900@erased.invalid",
        email_hash=_old_hash("raderad@example.se"),
        status="erased",
    )
    Suppression.objects.create(
        email="avregistrerad@example.se",
        email_hash=_old_hash("avregistrerad@example.se"),
        reason="unsubscribed",
    )
    # Erased long ago: only the hash is left.
    Suppression.objects.create(
        email="", email_hash=_old_hash("raderad@example.se"), reason="erased"
    )
    # Erased, then signed up again and not confirmed yet: the address is held once more.
    Suppression.objects.create(
        email="", email_hash=_old_hash("tillbaka@example.se"), reason="erased"
    )


def test_it_rehashes_every_row_that_holds_its_address_and_keeps_the_erased_blocking(
    unkeyed_schema,
):
    _old_data_make(unkeyed_schema)

    migrate_to(latest_schema())

    for email in ("aktiv@example.se", "avregistrerad@example.se", "tillbaka@example.se"):
        assert Subscriber.objects.get(email=email).email_hash == email_hash(email)
    unsubscribed = Suppression.objects.get(email="avregistrerad@example.se")
    assert (unsubscribed.email_hash, unsubscribed.hash_version) == (
        email_hash("avregistrerad@example.se"),
        HashVersion.KEYED,
    )
    returning = Suppression.objects.get(email_hash=email_hash("tillbaka@example.se"))
    assert returning.hash_version == HashVersion.KEYED
    erased = Suppression.objects.get(email_hash=_old_hash("raderad@example.se"))
    assert erased.hash_version == HashVersion.LEGACY
    # No hash that a dump would let anyone recompute is left, except the erased one's.
    old_hashes = {
        _old_hash(email)
        for email in ("aktiv@example.se", "avregistrerad@example.se", "tillbaka@example.se")
    }
    stored = set(Subscriber.objects.values_list("email_hash", flat=True)) | set(
        Suppression.objects.values_list("email_hash", flat=True)
    )
    assert not old_hashes & stored
    for email in ("raderad@example.se", "Raderad@Example.se", "tillbaka@example.se"):
        assert address_suppressed(email=email), email
    report = subscribers_import(
        content=b"email\nraderad@example.se\nny@example.se\n", filename="lista.csv"
    )
    assert [row.email for row in report.skipped] == ["raderad@example.se"]
    assert Subscriber.objects.filter(email="ny@example.se").exists()


def test_it_refuses_to_migrate_back_when_erased_addresses_exist_only_as_keyed_hashes(
    unkeyed_schema,
):
    _old_data_make(unkeyed_schema)
    migrate_to(latest_schema())
    hashes = set(Suppression.objects.values_list("email_hash", "hash_version"))

    with pytest.raises(IrreversibleError, match="1 suppression entries of erased people"):
        migrate_to(BEFORE_KEYED_HASHES)

    assert set(Suppression.objects.values_list("email_hash", "hash_version")) == hashes
    # Without such entries the way back is open, and gives the old hashes back.
    Suppression.objects.filter(email="", hash_version=HashVersion.KEYED).delete()
    old_apps = migrate_to(BEFORE_KEYED_HASHES)
    OldSubscriber = old_apps.get_model("subscribers", "Subscriber")
    assert OldSubscriber.objects.get(email="aktiv@example.se").email_hash == _old_hash(
        "aktiv@example.se"
    )


def test_it_gives_existing_administrators_the_export_permission_and_nobody_else():
    migrate_to(BEFORE_EXPORT_PERMISSION)
    # A database from before: the permission does not exist yet.
    Permission.objects.filter(codename="export_personal_data").delete()

    migrate_to(latest_schema())

    holders = set(
        Group.objects.filter(permissions__codename="export_personal_data").values_list(
            "name", flat=True
        )
    )
    assert holders == {ADMINISTRATORS}
    assert {EDITORS, DISTRIBUTION_STAFF} <= set(Group.objects.values_list("name", flat=True))
