"""Conditional GET for the API: ETag and Last-Modified computed before the body is built.

Integrations poll (a CMS asks every few minutes whether anything new is published); a 304
costs one aggregate query instead of serialising every article again.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, quote_etag


def validators_for(*parts: object) -> str:
    """A strong ETag for whatever identifies a response's content (ids, times, page)."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return quote_etag(digest)


def not_modified(
    request: HttpRequest, *, etag: str, last_modified: datetime | None
) -> HttpResponse | None:
    """A 304 when the client's copy is current, else None (build the response)."""
    timestamp = int(last_modified.timestamp()) if last_modified else None
    return get_conditional_response(request, etag=etag, last_modified=timestamp)


def validators_set(response: HttpResponse, *, etag: str, last_modified: datetime | None) -> None:
    response.headers["ETag"] = etag
    if last_modified:
        response.headers["Last-Modified"] = http_date(last_modified.timestamp())
    # Public content: shared caches may keep it a little and must ask again after that.
    response.headers["Cache-Control"] = "public, max-age=60, must-revalidate"
