"""What erasure keeps of an address is a keyed hash: a copy of the database alone gives it away
to nobody, and the entries from before the key keep blocking their addresses."""

import hashlib

import pytest
from django.core import signing

from subscribers.importing import subscribers_import
from subscribers.models import (
    ConsentSource,
    HashVersion,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
)
from subscribers.privacy import address_suppressed, subscriber_erase
from subscribers.services import RequestOrigin
from subscribers.tokens import UNSUBSCRIBE, token_make
from subscribers.validation import email_hash, email_hash_legacy
from tests.factories import subscriber_make

pytestmark = pytest.mark.django_db

ADDRESS = "maja.ek@jarfalla.se"


def _plain_hashes(address: str) -> set[str]:
    """What someone holding only a dump would try: SHA-256 of the address, bare or with the
    prefix the code used (which is public)."""
    return {
        hashlib.sha256(address.encode()).hexdigest(),
        hashlib.sha256(f"lansnytt-suppression:{address}".encode()).hexdigest(),
    }


def _import(*emails: str):
    content = ("email;name\n" + "".join(f"{email};Maja Ek\n" for email in emails)).encode()
    return subscribers_import(content=content, filename="lista.csv", segment_slugs=[])


def test_it_keeps_a_hash_of_an_erased_address_that_plain_sha256_cannot_recompute(settings):
    reader = subscriber_make(email=ADDRESS)

    subscriber_erase(subscriber=reader, origin=RequestOrigin(), source=ConsentSource.WEB)

    kept = Suppression.objects.get()
    erased = Subscriber.objects.get(pk=reader.pk)
    assert kept.email == "" and kept.hash_version == HashVersion.KEYED
    assert kept.email_hash not in _plain_hashes(ADDRESS)
    assert erased.email_hash not in _plain_hashes(ADDRESS)
    # The hash depends on the key: with another key the same address gives another hash.
    settings.EMAIL_HASH_KEY = "en-annan-nyckel-som-ingen-har-sett-" + "x" * 32
    assert email_hash(ADDRESS) != kept.email_hash
    assert not address_suppressed(email=ADDRESS)


def test_it_blocks_the_reimport_of_an_erased_address_in_any_spelling():
    reader = subscriber_make(email=ADDRESS)
    subscriber_erase(subscriber=reader, origin=RequestOrigin(), source=ConsentSource.WEB)

    report = _import(" Maja.Ek@Jarfalla.SE ")

    assert [row.email for row in report.skipped] == [ADDRESS]
    assert Subscriber.objects.filter(status=SubscriberStatus.ACTIVE).count() == 0


def test_it_still_blocks_an_address_erased_before_the_key_existed():
    Suppression.objects.create(
        email_hash=email_hash_legacy(ADDRESS),
        hash_version=HashVersion.LEGACY,
        email="",
        reason=SuppressionReason.ERASED,
    )

    assert address_suppressed(email="Maja.Ek@jarfalla.se")
    report = _import(ADDRESS, "olle.berg@jarfalla.se")

    assert [row.email for row in report.skipped] == [ADDRESS]
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["olle.berg@jarfalla.se"]


def test_it_does_not_take_a_keyed_entry_for_an_old_one():
    # An entry made with the key whose value happens to be some address's old hash must not
    # block that address: the old hash is only compared with entries marked as old.
    Suppression.objects.create(
        email_hash=email_hash_legacy(ADDRESS), email="", reason=SuppressionReason.ERASED
    )

    assert not address_suppressed(email=ADDRESS)


def test_it_gives_an_old_entry_the_keyed_hash_when_the_person_is_erased_again():
    Suppression.objects.create(
        email_hash=email_hash_legacy(ADDRESS),
        hash_version=HashVersion.LEGACY,
        email="",
        reason=SuppressionReason.MANUAL,
    )
    again = subscriber_make(email=ADDRESS, status=SubscriberStatus.PENDING)

    subscriber_erase(subscriber=again, origin=RequestOrigin(), source=ConsentSource.WEB)

    kept = Suppression.objects.get()
    assert (kept.hash_version, kept.reason) == (HashVersion.KEYED, SuppressionReason.MANUAL)
    assert kept.email_hash == email_hash(ADDRESS)
    assert address_suppressed(email=ADDRESS)


def test_it_keeps_honouring_unsubscribe_links_sent_before_the_key(client):
    reader = subscriber_make(email=ADDRESS)
    # A link as the code before EMAIL_HASH_KEY made it: the old hash of the address.
    signer = signing.Signer(salt="lansnytt.subscribers.unsubscribe")
    old_token = signer.sign(f"{reader.pk}.{email_hash_legacy(ADDRESS)[:16]}")
    forged = signer.sign(f"{reader.pk}.{email_hash_legacy('someone@else.se')[:16]}")

    assert client.post(f"/avregistrera/{forged}/", {"confirm": "1"}).status_code == 400
    assert client.post(f"/avregistrera/{old_token}/", {"confirm": "1"}).status_code == 200

    reader.refresh_from_db()
    assert reader.status == SubscriberStatus.UNSUBSCRIBED
    new_token = token_make(purpose=UNSUBSCRIBE, subscriber_id=reader.pk, email=ADDRESS)
    assert email_hash_legacy(ADDRESS)[:16] not in new_token
