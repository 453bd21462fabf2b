"""Signed tokens in the links we send to subscribers.

Each purpose has its own salt, so a token made for one purpose is worthless for another.
A token is bound to the subscriber and to a hash of their current address: once the
address changes or is erased, old links stop working.
"""

import functools
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .models import Subscriber, SubscriberStatus
from .validation import email_hash, email_hash_legacy

CONFIRM = "confirm"
PREFERENCES = "preferences"
UNSUBSCRIBE = "unsubscribe"

CONFIRM_MAX_AGE = timedelta(days=7)

# How much of the address hash goes into the token: enough to bind it, short enough to keep
# links short.
_HASH_PREFIX = 16


class TokenInvalid(Exception):
    """The token is forged, altered, made for another purpose or for another address."""


class TokenExpired(TokenInvalid):
    pass


@dataclass(frozen=True)
class TokenClaims:
    subscriber_id: int
    address_hash: str


def _salt(purpose: str) -> str:
    return f"lansnytt.subscribers.{purpose}"


def _signer(purpose: str) -> signing.Signer:
    # Two tokens go into every message the workers send; building the signer once per
    # purpose (and key) keeps that off the per-recipient path.
    return _signer_cached(
        purpose, settings.SECRET_KEY, tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    )


@functools.lru_cache(maxsize=16)
def _signer_cached(purpose: str, key: str, fallback_keys: tuple[str, ...]) -> signing.Signer:
    kind = signing.TimestampSigner if purpose == CONFIRM else signing.Signer
    return kind(key=key, fallback_keys=list(fallback_keys), salt=_salt(purpose))


def token_make(*, purpose: str, subscriber_id: int, email: str) -> str:
    """A token for the subscriber; `email` is their current (normalised) address."""
    payload = f"{subscriber_id}.{email_hash(email)[:_HASH_PREFIX]}"
    return _signer(purpose).sign(payload)


def token_read(*, purpose: str, token: str) -> TokenClaims:
    """Unpack a token without touching the database; raises TokenInvalid or TokenExpired."""
    try:
        if purpose == CONFIRM:
            payload = _signer(purpose).unsign(token, max_age=CONFIRM_MAX_AGE)
        else:
            payload = _signer(purpose).unsign(token)
    except signing.SignatureExpired as error:
        raise TokenExpired(str(error)) from error
    except signing.BadSignature as error:
        raise TokenInvalid(str(error)) from error
    subscriber_id, _, address_hash = payload.partition(".")
    if not subscriber_id.isdigit() or len(address_hash) != _HASH_PREFIX:
        raise TokenInvalid("malformed payload")
    return TokenClaims(subscriber_id=int(subscriber_id), address_hash=address_hash)


def token_subscriber(*, purpose: str, token: str) -> Subscriber:
    """The subscriber a token was made for, if it still matches their current address."""
    claims = token_read(purpose=purpose, token=token)
    subscriber = Subscriber.objects.filter(pk=claims.subscriber_id).first()
    if (
        subscriber is None
        or subscriber.status == SubscriberStatus.ERASED
        or claims.address_hash not in _address_tags(subscriber)
    ):
        raise TokenInvalid("no subscriber with this address")
    return subscriber


def _address_tags(subscriber: Subscriber) -> tuple[str, str]:
    # Links sent before EMAIL_HASH_KEY carry the old unkeyed hash of the address; the
    # unsubscribe link in every message ever sent must keep working. Both tags are made from
    # the current address, so a changed or erased address still ends every old link.
    return (
        subscriber.email_hash[:_HASH_PREFIX],
        email_hash_legacy(subscriber.email)[:_HASH_PREFIX],
    )


@functools.lru_cache(maxsize=8)
def _url_around_token(url_name: str, site_url: str) -> tuple[str, str]:
    # reverse() once; per link only the token changes. Tokens are URL-safe as they are, so
    # the joined URL is exactly what reverse() would give. The sending pipeline makes two
    # links per recipient, so this keeps URL resolving off that path.
    marker = "TOKEN0MARKER"
    before, _, after = reverse(url_name, kwargs={"token": marker}).partition(marker)
    return site_url + before, after


def _token_url(url_name: str, purpose: str, subscriber_id: int, email: str) -> str:
    before, after = _url_around_token(url_name, settings.SITE_URL)
    return before + token_make(purpose=purpose, subscriber_id=subscriber_id, email=email) + after


def preferences_url(*, subscriber_id: int, email: str) -> str:
    return _token_url("subscribers:preferences", PREFERENCES, subscriber_id, email)


def unsubscribe_url(*, subscriber_id: int, email: str) -> str:
    return _token_url("subscribers:unsubscribe", UNSUBSCRIBE, subscriber_id, email)
