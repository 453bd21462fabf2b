"""Article bodies: Markdown written by editors, turned into HTML that is safe to publish.

Markdown lets an editor write raw HTML, so the output always goes through nh3 (the Rust
ammonia sanitiser) with an allow-list that matches what an article needs and nothing more.
"""

from urllib.parse import urljoin

import markdown
import nh3
from django.conf import settings

ALLOWED_TAGS = {
    "p", "br", "h2", "h3", "h4", "strong", "em", "b", "i", "blockquote",
    "ul", "ol", "li", "a", "abbr", "code", "pre", "hr",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "hreflang"}, "abbr": {"title"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


def markdown_to_safe_html(source: str) -> str:
    """Markdown → HTML with scripts, event handlers, styles and unknown tags removed."""
    rendered = markdown.markdown(source or "", extensions=["sane_lists"], output_format="html")
    return nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


def links_in_html(html: str) -> list[str]:
    """The href of every link in sanitised HTML, in document order."""
    found: list[str] = []

    def collect(element: str, attribute: str, value: str) -> str:
        if element == "a" and attribute == "href":
            found.append(value)
        return value

    nh3.clean(html, attribute_filter=collect)
    return found


def absolute_url(path: str) -> str:
    """An absolute URL on the public site for a path such as /arkiv/2018-1/."""
    return urljoin(settings.SITE_URL + "/", path)


def media_url(name: str) -> str:
    """The absolute public URL of an uploaded file, for emails read outside the site."""
    base = settings.MEDIA_URL
    if not base.startswith(("/", "http://", "https://")):
        base = "/" + base
    return absolute_url(urljoin(base, name))
