"""Signed tokens never reach the logs.

The preference, unsubscribe and confirmation links carry a signed token that is as good as
the reader's password for those pages. Django's request warnings (a 404, a 400 for an expired
link, a CSRF refusal), the development server's and gunicorn's access lines all print the
path, so every logger that does gets this filter (LOGGING in settings.py; gunicorn's in
wsgi.py). It masks

- the path segment after each of the token paths (`SIGNED_LINK_PATHS`), even when the token
  is cut off or altered: what is left can still name a subscriber;
- anything shaped like a value signed with django.core.signing anywhere in the line (a query
  string, a Referer, a link a mail scanner wrapped and percent-encoded).
"""

import logging
import re
from collections.abc import Iterable

MASK = "[token]"

# value:signature or value:timestamp:signature (TimestampSigner); the signature is unpadded
# URL-safe base64 of an HMAC-SHA256, 43 characters. ":" and "/" may arrive percent-encoded
# (a link a mail scanner wrapped), so a value starts after a "%2F" or after no word character.
_COLON = r"(?::|%3[Aa])"
_START = r"(?:(?<=%2[Ff])|(?<![\w.\-%]))"
_SIGNED_VALUE = re.compile(
    rf"{_START}[\w.\-]+(?:{_COLON}[0-9A-Za-z]+)?{_COLON}[\w\-]{{43}}(?![\w\-])"
)
# Where a path segment ends in a log line: the next "/", the query, a quote or space.
_SEGMENT = r"[^/?#\s\"'<>]+"


class SignedTokenFilter(logging.Filter):
    """Rewrites each record's message (and traceback) with the tokens masked; drops nothing."""

    def __init__(self, token_paths: Iterable[str] = (), name: str = "") -> None:
        super().__init__(name)
        paths = sorted({path for path in token_paths if path}, key=len, reverse=True)
        self._after_token_path = (
            re.compile("(" + "|".join(re.escape(path) for path in paths) + ")" + _SEGMENT)
            if paths
            else None
        )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        return True

    def mask(self, text: str) -> str:
        if self._after_token_path is not None:
            text = self._after_token_path.sub(lambda match: match.group(1) + MASK, text)
        return _SIGNED_VALUE.sub(MASK, text)


def gunicorn_loggers_mask(*, token_paths: Iterable[str]) -> None:
    """Give gunicorn's loggers the filter. Not through LOGGING: naming a logger there removes
    its handlers, and gunicorn has already set up its own."""
    token_filter = SignedTokenFilter(token_paths)
    for name in ("gunicorn.access", "gunicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(existing, SignedTokenFilter) for existing in logger.filters):
            logger.addFilter(token_filter)
