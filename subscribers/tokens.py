"""Signed tokens in the links we send to subscribers.

Each purpose has its own salt, so a token made for one purpose is worthless for another.
A token is bound to the subscriber and to a hash of their current address: once the
address changes or is erased, old links stop working.

The preference and unsubscribe tokens never expire (they are in every message ever sent)
and so can never do more than change preferences or unsubscribe. Handing out or erasing a
person's data takes a privacy token: it names one PrivacyRequest, is mailed to the address
when the request is made, and expires after PRIVACY_MAX_AGE; the request row makes it
single-use.
"""

import base64
import functools
import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .models import PRIVACY_MAX_AGE, PrivacyRequest, Subscriber, SubscriberStatus
from .validation import email_hash, email_hash_legacy

CONFIRM = "confirm"
PREFERENCES = "preferences"
UNSUBSCRIBE = "unsubscribe"
PRIVACY = "privacy"

CONFIRM_MAX_AGE = timedelta(days=7)
_MAX_AGE = {CONFIRM: CONFIRM_MAX_AGE, PRIVACY: PRIVACY_MAX_AGE}

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
    # Which dispatch the link was mailed in, for unsubscribe links made since the reports
    # count unsubscribes per issue; None for older links and links shown on the web pages.
    # Signed with the rest, so nobody can pin their unsubscribe on another issue.
    dispatch_id: int | None = None


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
    kind = signing.TimestampSigner if purpose in _MAX_AGE else signing.Signer
    return kind(key=key, fallback_keys=list(fallback_keys), salt=_salt(purpose))


def token_make(
    *, purpose: str, subscriber_id: int, email: str, dispatch_id: int | None = None
) -> str:
    """A token for the subscriber; `email` is their current (normalised) address.

    `dispatch_id` names the dispatch a mailed link came in; a token without it (every link
    sent before) reads just the same."""
    return _token_sign(purpose, _payload(subscriber_id, email_hash(email), dispatch_id))


def _payload(subscriber_id: int, address_hash: str, dispatch_id: int | None) -> str:
    payload = f"{subscriber_id}.{address_hash[:_HASH_PREFIX]}"
    if dispatch_id:
        payload += f".{dispatch_id}"
    return payload


def _token_sign(purpose: str, payload: str, *, key: str | None = None) -> str:
    """`key`: settings.SECRET_KEY, when the caller has read it already."""
    if purpose in _MAX_AGE:
        return _signer(purpose).sign(payload)
    # What Signer.sign gives, with the salted key derived once instead of per token: two
    # tokens go into every message, and deriving the key was most of their cost.
    # Signer.unsign reads these tokens as its own (tests/subscribers check it).
    mac = _mac_prototype(purpose, key or settings.SECRET_KEY).copy()
    mac.update(payload.encode())
    return f"{payload}:{base64.urlsafe_b64encode(mac.digest()).rstrip(b'=').decode()}"


def _mac_prototype(purpose: str, key: str):
    # django.utils.crypto.salted_hmac(salt + "signer", value, key), as Signer.signature does.
    return salted_hmac_prepared(_salt(purpose) + "signer", key)


@functools.lru_cache(maxsize=16)
def salted_hmac_prepared(key_salt: str, secret: str):
    """Django's salted_hmac(key_salt, …, secret, algorithm="sha256") with no message yet, its
    key derived once: `.copy()` it and add the message. For what is signed once per message
    (the links here, the VERP return path), where deriving the key was most of the cost."""
    return hmac.new(hashlib.sha256((key_salt + secret).encode()).digest(), digestmod=hashlib.sha256)


def token_read(*, purpose: str, token: str) -> TokenClaims:
    """Unpack a token without touching the database; raises TokenInvalid or TokenExpired."""
    payload = _unsign(purpose=purpose, token=token)
    subscriber_id, _, rest = payload.partition(".")
    address_hash, _, dispatch_id = rest.partition(".")
    if (
        not subscriber_id.isdigit()
        or len(address_hash) != _HASH_PREFIX
        or (dispatch_id and not dispatch_id.isdigit())
    ):
        raise TokenInvalid("malformed payload")
    return TokenClaims(
        subscriber_id=int(subscriber_id),
        address_hash=address_hash,
        dispatch_id=int(dispatch_id) if dispatch_id else None,
    )


def _unsign(*, purpose: str, token: str) -> str:
    try:
        if purpose in _MAX_AGE:
            return _signer(purpose).unsign(token, max_age=_MAX_AGE[purpose])
        return _signer(purpose).unsign(token)
    except signing.SignatureExpired as error:
        raise TokenExpired(str(error)) from error
    except signing.BadSignature as error:
        raise TokenInvalid(str(error)) from error


def token_subscriber(*, purpose: str, token: str) -> Subscriber:
    """The subscriber a token was made for, if it still matches their current address."""
    claims = token_read(purpose=purpose, token=token)
    return _subscriber_matching(claims)


def _subscriber_matching(claims: TokenClaims) -> Subscriber:
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


def privacy_token_make(*, privacy_request_id: int, subscriber_id: int, email: str) -> str:
    """The token of a one-time privacy link: one request, one subscriber, their address."""
    payload = f"{privacy_request_id}.{subscriber_id}.{email_hash(email)[:_HASH_PREFIX]}"
    return _signer(PRIVACY).sign(payload)


def privacy_token_request(*, token: str) -> PrivacyRequest:
    """The request a privacy token names, if it is this subscriber's and their address is
    still the one it was sent to; raises TokenInvalid or TokenExpired. Whether it was used
    is for the caller to see (and, when carrying it out, to claim)."""
    request_id, _, rest = _unsign(purpose=PRIVACY, token=token).partition(".")
    subscriber_id, _, address_hash = rest.partition(".")
    if not (request_id.isdigit() and subscriber_id.isdigit()) or len(address_hash) != _HASH_PREFIX:
        raise TokenInvalid("malformed payload")
    subscriber = _subscriber_matching(
        TokenClaims(subscriber_id=int(subscriber_id), address_hash=address_hash)
    )
    privacy_request = PrivacyRequest.objects.filter(
        pk=int(request_id), subscriber_id=subscriber.pk
    ).first()
    if privacy_request is None:
        raise TokenInvalid("no such request for this subscriber")
    privacy_request.subscriber = subscriber
    return privacy_request


@functools.lru_cache(maxsize=8)
def _url_around_token(url_name: str, site_url: str) -> tuple[str, str]:
    # reverse() once; per link only the token changes. Tokens are URL-safe as they are, so
    # the joined URL is exactly what reverse() would give. The sending pipeline makes two
    # links per recipient, so this keeps URL resolving off that path.
    marker = "TOKEN0MARKER"
    before, _, after = reverse(url_name, kwargs={"token": marker}).partition(marker)
    return site_url + before, after


def _token_url(
    url_name: str, purpose: str, subscriber_id: int, email: str, dispatch_id: int | None = None
) -> str:
    before, after = _url_around_token(url_name, settings.SITE_URL)
    token = token_make(
        purpose=purpose, subscriber_id=subscriber_id, email=email, dispatch_id=dispatch_id
    )
    return before + token + after


def subscriber_links(
    *, subscriber_id: int, email: str, dispatch_id: int | None = None, address_hash: str = ""
) -> tuple[str, str]:
    """The preference and unsubscribe links of one message, hashing the address once; the
    unsubscribe link names `dispatch_id` (see unsubscribe_url).

    `address_hash`: the subscriber's stored `email_hash`, when the caller read it anyway (a
    batch's claim does): the links are checked against that very value (_address_tags), so
    the address need not be hashed again for every message."""
    address_hash = address_hash or email_hash(email)
    site_url, key = settings.SITE_URL, settings.SECRET_KEY  # read once: every message has two
    links = []
    for url_name, purpose, dispatch in (
        ("subscribers:preferences", PREFERENCES, None),
        ("subscribers:unsubscribe", UNSUBSCRIBE, dispatch_id),
    ):
        before, after = _url_around_token(url_name, site_url)
        payload = _payload(subscriber_id, address_hash, dispatch)
        links.append(before + _token_sign(purpose, payload, key=key) + after)
    return links[0], links[1]


def preferences_url(*, subscriber_id: int, email: str) -> str:
    return _token_url("subscribers:preferences", PREFERENCES, subscriber_id, email)


def unsubscribe_url(*, subscriber_id: int, email: str, dispatch_id: int | None = None) -> str:
    """The unsubscribe link (and List-Unsubscribe URL); a mailed one names its dispatch so
    the report can count the unsubscribe against the issue that carried it."""
    return _token_url("subscribers:unsubscribe", UNSUBSCRIBE, subscriber_id, email, dispatch_id)


def privacy_url(*, privacy_request: PrivacyRequest) -> str:
    subscriber = privacy_request.subscriber
    token = privacy_token_make(
        privacy_request_id=privacy_request.pk, subscriber_id=subscriber.pk, email=subscriber.email
    )
    return settings.SITE_URL + reverse("subscribers:privacy_link", kwargs={"token": token})
