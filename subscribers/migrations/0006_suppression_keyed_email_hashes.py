"""Address hashes become keyed (HMAC-SHA256 with EMAIL_HASH_KEY) instead of a plain SHA-256.

With a plain hash anyone holding a copy of the database could confirm that a given address
was once a subscriber by hashing it. Every row that still holds its address is hashed again
with the key: subscribers that are not erased, and suppression entries that keep the address.
A suppression entry of a person erased before this migration has no address left, so its
old hash stays, marked `hash_version = sha256`, and address lookups check such entries by the
old hash too (Suppression.objects.for_address). When a row elsewhere in the database still
holds that address (the person signed up again and has not confirmed yet), the entry gets
the keyed hash here all the same. Erased subscriber rows keep the hash they have; nothing
looks erased rows up by it.

The hash functions are written out here rather than imported, so that this migration keeps
doing what it did when the code moves on.

Backwards, rows that hold their address get the old hash again. Suppression entries of people
erased after this migration exist only as keyed hashes and the old code could not match them:
then migrating back is refused, with the number of such entries, rather than letting those
addresses be imported again.
"""

import hashlib
import hmac

from django.conf import settings
from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError

KEYED = "hmac-sha256"
LEGACY = "sha256"
BATCH = 2000


def _fold(email: str) -> str:
    return (email or "").strip().lower()


def _legacy(email: str) -> str:
    return hashlib.sha256(f"lansnytt-suppression:{_fold(email)}".encode()).hexdigest()


def _keyed(email: str) -> str:
    key = settings.EMAIL_HASH_KEY.encode()
    return hmac.new(key, _fold(email).encode(), "sha256").hexdigest()


def _subscribers_rehash(apps, hash_function) -> dict[str, str]:
    """Hash every subscriber that holds an address again; their addresses by old hash."""
    Subscriber = apps.get_model("subscribers", "Subscriber")
    # Read first, then write: SQLite does not promise what a SELECT sees of rows updated
    # while it is still being read.
    held = list(Subscriber.objects.exclude(status="erased").values_list("pk", "email"))
    for start in range(0, len(held), BATCH):
        Subscriber.objects.bulk_update(
            [
                Subscriber(pk=pk, email_hash=hash_function(email))
                for pk, email in held[start : start + BATCH]
            ],
            ["email_hash"],
        )
    return {_legacy(email): email for _pk, email in held}


def _suppressions_rehash(apps, *, version_from: str, version_to: str, address_of) -> None:
    Suppression = apps.get_model("subscribers", "Suppression")
    hash_function = _keyed if version_to == KEYED else _legacy
    for pk, email, address_hash in list(
        Suppression.objects.filter(hash_version=version_from).values_list(
            "pk", "email", "email_hash"
        )
    ):
        address = address_of(email, address_hash)
        if not address:
            continue  # erased before the key: only the old hash exists, and it stays
        Suppression.objects.filter(pk=pk).update(
            email_hash=hash_function(address), hash_version=version_to
        )


def hashes_key(apps, schema_editor) -> None:
    held = _subscribers_rehash(apps, _keyed)
    _suppressions_rehash(
        apps,
        version_from=LEGACY,
        version_to=KEYED,
        address_of=lambda email, address_hash: email or held.get(address_hash),
    )


def hashes_unkey(apps, schema_editor) -> None:
    Suppression = apps.get_model("subscribers", "Suppression")
    keyed_only = Suppression.objects.filter(hash_version=KEYED, email="").count()
    if keyed_only:
        raise IrreversibleError(
            f"{keyed_only} suppression entries of erased people exist only as hashes keyed "
            "with EMAIL_HASH_KEY; the previous schema could not recognise those addresses, "
            "and an import could bring them back. Migrating back is refused."
        )
    _subscribers_rehash(apps, _legacy)
    _suppressions_rehash(
        apps,
        version_from=KEYED,
        version_to=LEGACY,
        address_of=lambda email, address_hash: email,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("subscribers", "0005_print_runs_to_printing"),
    ]

    operations = [
        # Every existing entry was hashed the old way; new ones are keyed (the default below).
        migrations.AddField(
            model_name="suppression",
            name="hash_version",
            field=models.CharField(
                choices=[
                    ("hmac-sha256", "HMAC-SHA256 med EMAIL_HASH_KEY"),
                    ("sha256", "SHA-256 utan nyckel (före EMAIL_HASH_KEY)"),
                ],
                default=LEGACY,
                max_length=16,
                verbose_name="hashning",
            ),
        ),
        migrations.RunPython(hashes_key, hashes_unkey),
        migrations.AlterField(
            model_name="suppression",
            name="hash_version",
            field=models.CharField(
                choices=[
                    ("hmac-sha256", "HMAC-SHA256 med EMAIL_HASH_KEY"),
                    ("sha256", "SHA-256 utan nyckel (före EMAIL_HASH_KEY)"),
                ],
                default=KEYED,
                max_length=16,
                verbose_name="hashning",
            ),
        ),
    ]
