"""The magazine's colophon: who publishes it, who answers for it, and its ISSNs.

One home for what the email, the web issue page and the PDF edition print at the foot of an
issue, and for what the legal deposit metadata says about the serial. Everything comes from
settings (the environment); the system checks in checks.py refuse an ISSN whose check digit
is wrong, so a typo never reaches print or Kungliga biblioteket.
"""

import re
from dataclasses import dataclass

from django.conf import settings

_ISSN_SHAPE = re.compile(r"^(\d{4})-?(\d{3}[\dX])$")


@dataclass(frozen=True)
class Colophon:
    publisher_name: str
    publisher_address: str
    responsible_publisher: str  # ansvarig utgivare; "" when not configured
    issn_print: str  # "1234-5679" or ""
    issn_online: str

    def as_list(self) -> list[str]:
        """The values in a fixed order, for content versions (rendering.issue_version)."""
        return [
            self.publisher_name,
            self.publisher_address,
            self.responsible_publisher,
            self.issn_print,
            self.issn_online,
        ]


def colophon() -> Colophon:
    """The colophon from the current settings (read at call time: tests override settings)."""
    return Colophon(
        publisher_name=settings.PUBLISHER_NAME,
        publisher_address=settings.PUBLISHER_ADDRESS,
        responsible_publisher=settings.RESPONSIBLE_PUBLISHER.strip(),
        issn_print=issn_normalise(settings.ISSN_PRINT) or "",
        issn_online=issn_normalise(settings.ISSN_ONLINE) or "",
    )


def issn_normalise(value: str) -> str | None:
    """ "1234-5679" for an ISSN written with or without its hyphen (and a lower-case x), or
    None when it is not an ISSN: the wrong shape or a check digit that does not match
    (ISO 3297: weights 8…2 over the first seven digits, modulus 11, 10 written as X)."""
    match = _ISSN_SHAPE.match(value.strip().upper())
    if match is None:
        return None
    digits = match.group(1) + match.group(2)
    total = sum(
        int(digit) * weight for digit, weight in zip(digits[:7], range(8, 1, -1), strict=True)
    )
    check = (11 - total % 11) % 11
    if digits[7] != ("X" if check == 10 else str(check)):
        return None
    return f"{digits[:4]}-{digits[4:]}"
