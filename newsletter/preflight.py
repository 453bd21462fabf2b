"""The pre-flight checklist an issue must pass before it can be marked ready.

Each check gives a readable failure for the editor. Links are checked without the network by
default (internal links must resolve to a page of this site, external ones must be well-formed
URLs); `check_external=True` also asks each external server, for the editor's button.
"""

import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from .content import links_in_html, markdown_to_safe_html
from .models import Issue
from .rendering import RenderingError, issue_render

EXTERNAL_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Check:
    label: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def issue_preflight(*, issue: Issue, check_external: bool = False) -> list[Check]:
    """Every check with its failures (an empty list of failures means it passed)."""
    articles = list(issue.articles.order_by("position", "id"))

    subject = Check(_("Ämnesraden är ifylld"))
    if not issue.subject.strip():
        subject.failures.append(_("Numret saknar ämnesrad."))

    content = Check(_("Numret har artiklar och ingen artikel är tom"))
    if not articles:
        content.failures.append(_("Numret har inga artiklar."))
    for article in articles:
        if not article.heading.strip():
            content.failures.append(_("En artikel saknar rubrik."))
        elif not (article.lead.strip() or article.body.strip()):
            content.failures.append(
                _("Artikeln ”%(heading)s” har varken ingress eller brödtext.")
                % {"heading": article.heading}
            )

    images = Check(_("Alla bilder har alternativtext"))
    if issue.cover_image and not issue.cover_image_alt.strip():
        images.failures.append(_("Omslagsbilden saknar alternativtext."))
    for article in articles:
        if article.image and not article.image_alt.strip():
            images.failures.append(
                _("Bilden i ”%(heading)s” saknar alternativtext.") % {"heading": article.heading}
            )

    links = Check(_("Alla länkar fungerar"))
    for article in articles:
        targets = links_in_html(markdown_to_safe_html(article.body))
        if article.cta_url:
            targets.append(article.cta_url)
        targets.append(article.get_absolute_url())
        for url in targets:
            problem = link_problem(url, check_external=check_external)
            if problem:
                links.failures.append(f"”{article.heading}”: {url} – {problem}")

    rendering = Check(_("E-postmallen går att rendera"))
    try:
        issue_render(issue=issue)
    except RenderingError as error:
        rendering.failures.append(str(error))

    return [subject, content, images, links, rendering]


def link_problem(url: str, *, check_external: bool = False) -> str:
    """Why the link would not work for a reader, or "" when it is fine."""
    parts = urlsplit(url)
    if parts.scheme == "mailto":
        return "" if "@" in parts.path else _("ogiltig e-postlänk")
    site = urlsplit(settings.SITE_URL)
    internal = (not parts.scheme and not parts.netloc) or parts.netloc == site.netloc
    if internal:
        if url.startswith("#"):
            return ""
        try:
            resolve(parts.path or "/")
        except Resolver404:
            return _("sidan finns inte på webbplatsen")
        return ""
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return _("ogiltig webbadress")
    if check_external:
        return _external_problem(url)
    return ""


def _external_problem(url: str) -> str:
    request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "lansnytt"})
    try:
        with urllib.request.urlopen(request, timeout=EXTERNAL_TIMEOUT_SECONDS):
            return ""
    except urllib.error.HTTPError as error:
        if error.code in (403, 405):  # servers that refuse HEAD still exist
            return ""
        return _("servern svarar %(code)s") % {"code": error.code}
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return _("går inte att nå (%(reason)s)") % {"reason": error}
