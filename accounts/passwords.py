"""Password rules beyond Django's own: no Swedish word, name or place, and nothing built from
the account's own username, name or email.

Django's validators already refuse short, all-digit, English-common and username-like
passwords (settings.AUTH_PASSWORD_VALIDATORS). Attackers who target a Swedish regional
library try "Bibliotek2026!", "Sollentuna1" or "Sommar2026" first; these validators refuse a
password whose letters, once the decorations people add (digits, punctuation, capitals, a
leetspeak letter or two) are taken off, are one or two such words.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# The digits and symbols people put in for letters ("B1bl10tek"); a 1 is an i or an l.
_LEET_READINGS = [
    str.maketrans({"0": "o", "1": reading, "3": "e", "4": "a", "5": "s", "7": "t", "@": "a"})
    for reading in ("i", "l")
]
_FOLD = str.maketrans({"å": "a", "ä": "a", "ö": "o", "é": "e", "ü": "u"})
# Decorations at either end: digits (years, "1"), punctuation, spaces.
_ENDS = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_NOT_LETTERS = re.compile(r"[^a-z]")
# Parts of a username or an email address shorter than this are too common to forbid.
_PERSONAL_PART_MIN = 4


def password_cores(password: str) -> set[str]:
    """The letters a password may be built from: ends stripped, leetspeak undone (each way of
    reading it), å/ä/ö folded, lower case, everything but letters removed."""
    inner = _ENDS.sub("", password.casefold())
    return {_NOT_LETTERS.sub("", inner.translate(leet).translate(_FOLD)) for leet in _LEET_READINGS}


def word_fold(word: str) -> str:
    return _NOT_LETTERS.sub("", word.casefold().translate(_FOLD))


class SwedishPasswordValidator:
    """Refuses passwords made of one or two common Swedish words, names, seasons or the names
    of the region's places (the municipality and region lists the subscribers app ships)."""

    def __init__(self, *, word_lists: Iterable[Path] = (), place_lists: Iterable[Path] = ()):
        self.word_lists = [Path(path) for path in word_lists]
        self.place_lists = [Path(path) for path in place_lists]

    @cached_property
    def words(self) -> frozenset[str]:
        words: set[str] = set()
        for path in self.word_lists:
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip() and not line.startswith("#"):
                    words.add(word_fold(line))
        for path in self.place_lists:
            with path.open(encoding="utf-8", newline="") as file:
                for row in csv.DictReader(file):
                    for column in ("name", "seat"):
                        if row.get(column):
                            words.update(_place_forms(row[column]))
        words.discard("")
        return frozenset(words)

    def _is_words(self, core: str, *, parts: int) -> bool:
        if core in self.words:
            return True
        if parts == 1:
            return False
        return any(
            core[:cut] in self.words and self._is_words(core[cut:], parts=parts - 1)
            for cut in range(1, len(core))
        )

    def validate(self, password: str, user=None) -> None:
        if any(core and self._is_words(core, parts=2) for core in password_cores(password)):
            raise ValidationError(
                _(
                    "Lösenordet består av vanliga svenska ord, namn eller ortnamn med siffror "
                    "eller tecken. Välj en längre fras som inte går att gissa."
                ),
                code="password_swedish_common",
            )

    def get_help_text(self) -> str:
        return _(
            "Lösenordet får inte bygga på vanliga svenska ord, namn, årstider eller namn på "
            "kommuner och regioner."
        )


def _place_forms(name: str) -> set[str]:
    """ "Region Stockholm" is tried as "regionstockholm" and as "stockholm"."""
    forms = {word_fold(name)}
    forms.update(word_fold(part) for part in name.split() if part.casefold() != "region")
    return forms


class PersonalDetailsValidator:
    """Refuses a password that contains the username, a name or a part of the email address.

    Django's UserAttributeSimilarityValidator compares the whole password with each detail,
    so "Lindqvist-Karin-2026" for karin.lindqvist passes it; this one looks inside."""

    def validate(self, password: str, user=None) -> None:
        if user is None:
            return
        readings = [word_fold(password.translate(leet)) for leet in _LEET_READINGS]
        for part in _personal_parts(user):
            if any(part in reading for reading in readings):
                raise ValidationError(
                    _("Lösenordet innehåller ditt användarnamn, namn eller din e-postadress."),
                    code="password_personal",
                )

    def get_help_text(self) -> str:
        return _("Lösenordet får inte innehålla ditt användarnamn, namn eller e-postadress.")


def _personal_parts(user) -> set[str]:
    details = [
        getattr(user, "username", ""),
        getattr(user, "first_name", ""),
        getattr(user, "last_name", ""),
        getattr(user, "email", ""),
    ]
    parts = set()
    for detail in filter(None, details):
        for part in re.split(r"[\W_]+", detail.casefold()):
            folded = word_fold(part)
            if len(folded) >= _PERSONAL_PART_MIN:
                parts.add(folded)
    return parts
