"""The only way WeasyPrint may open a URL while laying out a PDF edition (see pdf.py).

A module of its own so that WeasyPrint is imported only where a PDF is made.
"""

from urllib.parse import unquote, urlsplit

import weasyprint
from django.conf import settings
from django.core.files.storage import default_storage

from ..content import media_url


class EditionFetcher(weasyprint.urls.URLFetcher):
    """Opens the issue's uploaded images from storage and nothing else: no network, no files
    outside storage. WeasyPrint leaves out a resource whose fetch fails (and logs it)."""

    def fetch(self, url, headers=None):
        prefix = media_url("")
        if not url.startswith(prefix):
            raise ValueError(f"not fetched in a PDF edition: {url[:200]}")
        name = unquote(urlsplit(url[len(prefix) :]).path)
        if not name or name.startswith("/") or ".." in name.split("/") or "\\" in name:
            raise ValueError(f"not a stored file name: {name[:200]}")
        if not default_storage.exists(name):
            raise ValueError(f"no such upload: {name[:200]}")
        with default_storage.open(name, "rb") as stored:
            body = stored.read(settings.IMAGE_MAX_BYTES + 1)
        if len(body) > settings.IMAGE_MAX_BYTES:
            raise ValueError(f"upload too large for the edition: {name[:200]}")
        return weasyprint.urls.URLFetcherResponse(url, body=body)
