"""What the markup test needs to find every input of a page and to judge an answer.

- `QueryKeysRecorded` (a middleware the test puts first) notes every query and form
  parameter a view looks up by name, so the test sends markup under exactly those names;
- `page_forms` reads the forms of a page, so every field of every form gets markup too;
- `raw_markup` says which attack fragments an answer contains unescaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

from django.http import QueryDict

# What must never come back as markup: a script element, an element with an event handler
# that broke out of an attribute, and a javascript: URL in a link, frame or form.
FRAGMENTS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg onload=alert(1)>")
JAVASCRIPT_URL = re.compile(
    r"""(?:href|src|action|formaction|data)\s*=\s*["']?\s*javascript:""", re.IGNORECASE
)
# A path segment cannot hold "/", so the markup sent in the path is this one.
PATH_MARKUP = '"><svg onload=alert(1)>'
# Answers a browser does not render as a page: downloads and data.
NOT_RENDERED = ("application/json", "text/csv", "application/zip", "application/pdf")

_recorded: set[str] | None = None


class _RecordingQueryDict(QueryDict):
    def _note(self, key) -> None:
        if _recorded is not None and isinstance(key, str):
            _recorded.add(key)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)

    def get(self, key, default=None):
        self._note(key)
        return super().get(key, default)

    def getlist(self, key, default=None):
        self._note(key)
        return super().getlist(key, default)


class QueryKeysRecorded:
    """Middleware: request.GET and request.POST note the names the view asks for."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        for name in ("GET", "POST"):
            recording = getattr(request, name).copy()
            recording.__class__ = _RecordingQueryDict
            setattr(request, name, recording)
        return self.get_response(request)


@contextmanager
def keys_recorded() -> Iterator[set[str]]:
    global _recorded
    _recorded = set()
    try:
        yield _recorded
    finally:
        _recorded = None


@dataclass
class Form:
    method: str
    action: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (name, type, value)

    def data(self, markup: str, *, keep_hidden: bool) -> dict[str, str]:
        """Every field set to `markup`; hidden ones (CSRF token, formset counts) kept as they
        are when `keep_hidden`, so the form gets past them to the fields behind."""
        data = {}
        for name, kind, value in self.fields:
            keep = name == "csrfmiddlewaretoken" or (keep_hidden and kind == "hidden")
            data[name] = value if keep else markup
        return data

    @property
    def has_file(self) -> bool:
        return any(kind == "file" for _name, kind, _value in self.fields)


class _FormReader(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            action = urljoin(self.page_url, attributes.get("action") or self.page_url)
            method = (attributes.get("method") or "get").upper()
            self._current = Form(method, action)
            self.forms.append(self._current)
        elif self._current is not None and tag in ("input", "select", "textarea", "button"):
            name = attributes.get("name")
            if name:
                kind = (attributes.get("type") or tag).lower()
                self._current.fields.append((name, kind, attributes.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def page_forms(url: str, html: str) -> list[Form]:
    reader = _FormReader(url)
    reader.feed(html)
    return reader.forms


def link_query_keys(html: str) -> set[str]:
    """Query parameter names in the page's own links ("?status__exact=…": admin filters)."""
    keys = set()
    for href in re.findall(r'href="(\?[^"]*)"', html):
        keys.update(key for key, _value in parse_qsl(href[1:].replace("&amp;", "&")))
    return keys


def body_text(response) -> str:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    return content.decode("utf-8", errors="replace")


def raw_markup(response) -> list[str]:
    """The attack fragments the answer contains unescaped, if a browser would render it."""
    content_type = response.get("Content-Type", "")
    attachment = response.get("Content-Disposition", "").startswith("attachment")
    if attachment or content_type.startswith(NOT_RENDERED):
        return []
    body = body_text(response)
    found = [fragment for fragment in FRAGMENTS if fragment in body]
    found += JAVASCRIPT_URL.findall(body)
    return found


def same_site(url: str) -> bool:
    return urlsplit(url).netloc in ("", "testserver")
