"""Normalisation and validation of the values subscribers and organisations are made of."""

import functools
import hashlib
import hmac
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email

POSTAL_CODE_PATTERN = re.compile(r"^[1-9]\d{4}$")

# C0 and C1 control characters (CR, LF, TAB, NUL, ...), DEL, the Unicode line and paragraph
# separators, and the bidirectional overrides and isolates. Python's str.splitlines() and the
# mail libraries break lines at the first group, which is what header and body injection is
# made of; the last group makes text read differently from what it is.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")


def email_fold(raw: str) -> str:
    """The case-folded, trimmed form every stored and compared address has.

    No validation: for values that were validated when they came in (or never were, like a
    staff suppression of a mistyped address) and only need the stored form.
    """
    return (raw or "").strip().lower()


def email_normalise(raw: str) -> str:
    """Return the address in the one form we store and compare, or raise ValidationError.

    Syntax only: no DNS lookups, so imports of thousands of rows stay fast and offline.
    The whole address is lower-cased because every provider our readers use treats the
    local part case-insensitively, and duplicates by case are the commonest import mistake.
    """
    value = (raw or "").strip()
    if not value:
        raise ValidationError(_("e-postadress saknas"), code="required")
    if any(character in value for character in "\r\n\t"):
        raise ValidationError(_("ogiltig e-postadress: innehåller radbrytning"), code="invalid")
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValidationError(
            _("ogiltig e-postadress: %(reason)s") % {"reason": error}, code="invalid"
        ) from error
    return email_fold(result.normalized)


def control_characters_clean(value: str) -> str:
    """The value with runs of control characters (CR/LF above all) turned into spaces.

    For text that is already stored and goes into a message (a greeting, an address line).
    """
    if not value:
        return ""
    if value.isprintable():
        # Every character the pattern matches is one that isprintable() refuses (Cc, Cf, Zl,
        # Zp), so a printable value has none: a C loop instead of a regular expression, on
        # the sending path three times per message.
        return value.strip()
    return _CONTROL_CHARACTERS.sub(" ", value).strip()


def single_line_validate(value: str) -> None:
    """Refuse a one-line value (a name, an address line) that holds control characters."""
    if _CONTROL_CHARACTERS.search(value or ""):
        raise ValidationError(
            _("får inte innehålla radbrytningar, tabbar eller andra styrtecken"),
            code="control_character",
        )


def email_hash(email: str) -> str:
    """The keyed hash of an address (HMAC-SHA256 with EMAIL_HASH_KEY), kept after erasure to
    block re-imports.

    Keyed so that a copy of the database alone cannot confirm that a given address was ever a
    subscriber: without the key, hashing a guessed address gives nothing to compare with.
    """
    mac = _email_hash_prototype(settings.EMAIL_HASH_KEY).copy()
    mac.update(_hashed_form(email))
    return mac.hexdigest()


def email_hash_legacy(email: str) -> str:
    """The unkeyed SHA-256 used before EMAIL_HASH_KEY existed.

    Only for what was hashed that way and cannot be hashed again: suppression entries of
    people erased before the key (their address is gone; see Suppression.hash_version), and
    the address tags in links sent before it.
    """
    return hashlib.sha256(b"lansnytt-suppression:" + _hashed_form(email)).hexdigest()


def _hashed_form(email: str) -> bytes:
    return email_fold(email).encode()


@functools.lru_cache(maxsize=4)
def _email_hash_prototype(key: str):
    # Every outgoing message hashes its recipient's address for the links: the key's HMAC
    # state is set up once and copied (the same digest as hmac.new(key, address) each time).
    return hmac.new(key.encode(), digestmod="sha256")


def postal_code_normalise(raw: str) -> str:
    """Swedish postnummer as "NNN NN": five digits, the first 1–9. Empty stays empty."""
    value = (raw or "").strip()
    if not value:
        return ""
    digits = re.sub(r"[\s\u00a0-]", "", value)
    if digits.upper().startswith("SE"):
        digits = digits[2:]
    if not POSTAL_CODE_PATTERN.match(digits):
        raise ValidationError(
            _("ogiltigt postnummer %(value)s: fem siffror, den första 1–9") % {"value": value},
            code="invalid",
        )
    return f"{digits[:3]} {digits[3:]}"
