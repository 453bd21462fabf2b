"""The per-delivery return path (VERP): bounces+<signed delivery token>@domain.

A DSN goes to the envelope sender, so when every delivery has its own envelope sender the
address a bounce arrives at names the delivery, whatever the bounce's format and even when
the message was forwarded to another mailbox. The token is signed with SECRET_KEY, so no one
can make up an address that names somebody else's delivery. It is lower-case hex because
mail systems are free to change the case of a local part.
"""

from __future__ import annotations

import re
from functools import lru_cache

from django.conf import settings
from django.utils.crypto import constant_time_compare

from subscribers.tokens import salted_hmac_prepared

from .message import sending_settings

_SALT = "lansnytt.worker.verp"
_TOKEN = re.compile(r"^(\d{1,19})-([0-9a-f]{20})$")


class VerpTokenInvalid(ValueError):
    """The token has our form but not our signature: a forgery, or a mangled address."""


def _signature(delivery_id: int) -> str:
    # salted_hmac(_SALT, str(delivery_id), algorithm="sha256"), with its key derived once per
    # secret instead of for every message (a return path per message: 2.7 → 1.5 µs), so every
    # address already sent reads the same (tests/sending/test_sending_verp.py).
    mac = salted_hmac_prepared(_SALT, settings.SECRET_KEY).copy()
    mac.update(str(delivery_id).encode())
    return mac.hexdigest()[:20]


def delivery_token_make(*, delivery_id: int) -> str:
    return f"{delivery_id}-{_signature(delivery_id)}"


def delivery_token_read(token: str) -> int:
    """The delivery a token names; raises VerpTokenInvalid when it is not one we made."""
    match = _TOKEN.match(token.strip().lower())
    if match is None:
        raise VerpTokenInvalid(f"not a delivery token: {token[:60]!r}")
    delivery_id = int(match.group(1))
    if not constant_time_compare(match.group(2), _signature(delivery_id)):
        raise VerpTokenInvalid(f"bad signature on the token of delivery {delivery_id}")
    return delivery_id


def verp_address(*, delivery_id: int | None, token: str = "") -> str:
    """The envelope sender for a delivery; empty when BOUNCE_ADDRESS is not set. `token`
    saves making the delivery's token a second time when the caller has it."""
    bounce_address = sending_settings().bounce_address
    if not bounce_address or not delivery_id:
        return ""
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{token or delivery_token_make(delivery_id=delivery_id)}@{domain}"


@lru_cache(maxsize=4)
def _address_pattern(bounce_address: str) -> re.Pattern[str]:
    local, _, domain = bounce_address.rpartition("@")
    return re.compile(rf"{re.escape(local)}\+([0-9a-z-]{{1,60}})@{re.escape(domain)}", re.I)


def verp_tokens_find(text: str) -> list[str]:
    """The tokens of every bounces+…@domain address in some header text."""
    if not settings.BOUNCE_ADDRESS:
        return []
    return _address_pattern(settings.BOUNCE_ADDRESS).findall(text)
