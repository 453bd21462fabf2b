"""The columns an import file may have and the words it may use in them (README's table).

Headers and values come from people's spreadsheets, so each has its English and Swedish
spellings; matching is case-insensitive.
"""

import re

from ..models import Channel, Language, OrganisationKind

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-post", "e-postadress", "epost", "e-mail"),
    "name": ("name", "namn"),
    "title": ("title", "titel", "roll"),
    "organisation": ("organisation", "organization"),
    "organisation_kind": ("organisation_kind", "organization_kind", "typ"),
    "municipality": ("municipality", "kommun"),
    "street": ("street", "adress", "gatuadress"),
    "postal_code": ("postal_code", "postnummer"),
    "city": ("city", "postort"),
    "copies": ("copies", "antal_ex", "antal_exemplar"),
    "channels": ("channels", "channel", "kanal", "kanaler"),
    "language": ("language", "språk"),
    "segments": ("segments", "segment"),
}
HEADER_TO_COLUMN = {
    alias: column for column, aliases in COLUMN_ALIASES.items() for alias in aliases
}

CHANNEL_VALUES = {
    "email": Channel.EMAIL,
    "e-post": Channel.EMAIL,
    "epost": Channel.EMAIL,
    "print": Channel.PRINT,
    "tryckt": Channel.PRINT,
    "papper": Channel.PRINT,
    "email+print": Channel.BOTH,
    "print+email": Channel.BOTH,
    "both": Channel.BOTH,
    "e-post+tryckt": Channel.BOTH,
    "båda": Channel.BOTH,
}
LANGUAGE_VALUES = {
    "sv": Language.SWEDISH,
    "svenska": Language.SWEDISH,
    "swedish": Language.SWEDISH,
    "en": Language.ENGLISH,
    "engelska": Language.ENGLISH,
    "english": Language.ENGLISH,
}
MAX_COPIES = 1000
TEXT_LIMITS = {"name": 200, "title": 200, "organisation": 200, "street": 200, "city": 100}


def header_normalise(raw: object) -> str:
    return re.sub(r"\s+", "_", str(raw or "").strip().casefold())


def channel_normalise(raw: str) -> str:
    """The stored channel for a cell such as "E-post + tryckt", or "" when it is unknown."""
    return CHANNEL_VALUES.get(re.sub(r"\s+", "", raw.casefold()), "")


def kind_lookup() -> dict[str, str]:
    """Organisation kind by its value, its label and the Swedish words lists use for it."""
    lookup: dict[str, str] = {}
    for value, label in OrganisationKind.choices:
        lookup[value] = value
        lookup[str(label).casefold()] = value
    for value, swedish in [
        (OrganisationKind.COUNTY_PUBLIC_LIBRARY, "folkbibliotek"),
        (OrganisationKind.REGIONAL_LIBRARY, "regionbibliotek"),
        (OrganisationKind.REGIONAL_LIBRARY, "länsbibliotek"),
        (OrganisationKind.REGIONAL_POLITICS, "politik"),
        (OrganisationKind.PARTNER, "partner"),
        (OrganisationKind.OTHER, "övrig"),
        (OrganisationKind.OTHER, "övrigt"),
    ]:
        lookup[swedish] = value
    return lookup
