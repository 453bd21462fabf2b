"""What the guard says when it gives no answer: a code, its params, and the sentence for them.

Codes (not sentences) are what callers store, so a stored result can be shown later in the
reader's language.
"""

from django.utils.translation import gettext_lazy as _

MESSAGES = {
    "scheme": _("bara http- och https-adresser får hämtas (inte %(scheme)s)"),
    "host": _("adressen har inget giltigt värdnamn"),
    "internal": _("adressen leder till en intern adress (%(address)s) och får inte hämtas"),
    "redirects": _("för många omdirigeringar (fler än %(limit)d)"),
    "dns": _("värdnamnet %(host)s finns inte"),
    "deadline": _("inget svar inom %(seconds)s sekunder"),
    "connect": _("går inte att ansluta till servern"),
    "tls": _("den säkra anslutningen misslyckades (certifikat eller TLS)"),
    "protocol": _("servern svarade inte med giltig HTTP"),
}


class OutboundError(Exception):
    """A request that gave no answer; `code` (a key of MESSAGES) and `params` say why."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(f"{code}: {params}")

    @property
    def message(self) -> str:
        return outbound_error_message(code=self.code, params=self.params)


class OutboundRefused(OutboundError):
    """The guard would not send the request (scheme, internal address, redirects)."""


class OutboundFailed(OutboundError):
    """The request was allowed but got no usable answer (DNS, connection, TLS, deadline)."""


def outbound_error_message(*, code: str, params: dict) -> str:
    """The reader's sentence for an error code, in the active language (stored codes too)."""
    return str(MESSAGES[code]) % params
