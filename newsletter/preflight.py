"""The pre-flight checklist an issue must pass before it can be marked ready.

Each check gives a readable failure for the editor. Links are checked without the network:
internal links must resolve to a page of this site, external ones must be well-formed URLs.
Asking the external servers is a separate, background check (newsletter/linkcheck.py), so no
web request ever waits on someone else's server.
"""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from .content import links_in_html, markdown_to_safe_html
from .models import Article, Issue
from .rendering import RenderingError, issue_render


@dataclass(frozen=True)
class Check:
    label: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def issue_preflight(*, issue: Issue) -> list[Check]:
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
    for heading, url in issue_links(articles=articles):
        problem = link_problem(url)
        if problem:
            links.failures.append(f"”{heading}”: {url} – {problem}")

    rendering = Check(_("E-postmallen går att rendera"))
    try:
        issue_render(issue=issue)
    except RenderingError as error:
        rendering.failures.append(str(error))

    return [subject, content, images, links, rendering]


def issue_links(*, articles: list[Article]) -> list[tuple[str, str]]:
    """(article heading, URL) for every link a reader gets: body links, call to action and
    the article's own permalink."""
    links = []
    for article in articles:
        targets = links_in_html(markdown_to_safe_html(article.body))
        if article.cta_url:
            targets.append(article.cta_url)
        targets.append(article.get_absolute_url())
        links.extend((article.heading, url) for url in targets)
    return links


def link_is_external(url: str) -> bool:
    """A link to another site (http or https), as opposed to this site or an email address."""
    parts = urlsplit(url)
    if parts.scheme == "mailto":
        return False
    site = urlsplit(settings.SITE_URL)
    return not ((not parts.scheme and not parts.netloc) or parts.netloc == site.netloc)


def link_problem(url: str) -> str:
    """Why the link would not work for a reader, or "" when it is fine (no network)."""
    parts = urlsplit(url)
    if parts.scheme == "mailto":
        return "" if "@" in parts.path else _("ogiltig e-postlänk")
    if not link_is_external(url):
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
    return ""
