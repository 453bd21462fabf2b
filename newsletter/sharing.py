"""Sharing an article without anyone's script: plain share links, and a share card.

The networks' own buttons load their scripts (and their tracking) into the page; links to
their share endpoints do the same job with nothing loaded until the reader clicks. Mastodon
has no one home, so its link goes to a small page of ours that asks for the reader's server.

Every article gets an Open Graph image of the size the networks expect (1200×630): its own
image when it has one, else a card with the title and the magazine's name drawn here with
Pillow, so a shared link never shows up as a bare line of text.
"""

from __future__ import annotations

import io
import re
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFont

from .models import Article

CARD_SIZE = (1200, 630)
MAGAZINE = "Länsnytt – Regionbibliotek Stockholm"
# Colours with a contrast ratio above 7:1 (WCAG AAA), the magazine's dark blue on white.
CARD_BACKGROUND = (14, 47, 84)
CARD_TEXT = (255, 255, 255)
CARD_ACCENT = (255, 204, 77)
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
)
# A Mastodon server's host name: labels of letters, digits and hyphens, at least one dot.
_HANDLE = re.compile(r"^@?[a-z0-9_]{1,30}@([^@]+)$")
_HOST = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class ShareLink:
    network: str
    label: str
    href: str


def share_links(*, article: Article, url: str, mastodon_page: str) -> list[ShareLink]:
    title = article.heading
    return [
        ShareLink(
            "linkedin",
            _("Dela på LinkedIn"),
            "https://www.linkedin.com/sharing/share-offsite/?" + urlencode({"url": url}),
        ),
        ShareLink(
            "facebook",
            _("Dela på Facebook"),
            "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": url}),
        ),
        ShareLink("mastodon", _("Dela på Mastodon"), mastodon_page),
        ShareLink(
            "email",
            _("Skicka med e-post"),
            "mailto:?" + urlencode({"subject": title, "body": url}, quote_via=_quote),
        ),
    ]


def _quote(value, safe="", encoding=None, errors=None):
    # mailto: wants %20 for spaces, not "+" (RFC 6068).
    from urllib.parse import quote

    return quote(value, safe=safe, encoding=encoding, errors=errors)


def mastodon_host_clean(raw: str) -> str | None:
    """The server a reader typed ("mastodon.social", "https://mastodon.nu/"), as a bare host
    name, or None when it is not one (an address, a path, a port, a user name: nothing that
    could turn the share page into a redirect to somewhere else)."""
    host = raw.strip().lower()
    host = host.removeprefix("https://").removeprefix("http://").rstrip("/")
    handle = _HANDLE.match(host)
    if handle:
        host = handle.group(1)  # "@anna@mastodon.nu" names the server after the second @
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return host if _HOST.match(host) else None


def mastodon_share_url(*, host: str, article: Article, url: str) -> str:
    return f"https://{host}/share?" + urlencode({"text": f"{article.heading} {url}"})


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size=size)  # Pillow's own scalable font


def share_card_png(*, article: Article) -> bytes:
    """A 1200×630 PNG with the article's title, the issue and the magazine's name."""
    image = Image.new("RGB", CARD_SIZE, CARD_BACKGROUND)
    draw = ImageDraw.Draw(image)
    margin = 80
    draw.rectangle([0, 0, 24, CARD_SIZE[1]], fill=CARD_ACCENT)
    if article.kicker:
        draw.text((margin, 70), article.kicker.upper(), font=_font(30), fill=CARD_ACCENT)
    size = 64 if len(article.heading) <= 60 else 52
    lines = textwrap.wrap(article.heading, width=28 if size == 64 else 36)[:4]
    y = 130
    for line in lines:
        draw.text((margin, y), line, font=_font(size), fill=CARD_TEXT)
        y += int(size * 1.2)
    draw.text((margin, CARD_SIZE[1] - 110), article.issue.title, font=_font(32), fill=CARD_TEXT)
    draw.text((margin, CARD_SIZE[1] - 65), MAGAZINE, font=_font(26), fill=CARD_ACCENT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
