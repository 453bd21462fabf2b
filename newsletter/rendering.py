"""The email of an issue: MJML → HTML → inlined CSS, plus a plain-text alternative.

This is the expensive part of a send (MJML and premailer take a good fraction of a second), so
it runs once per issue, language and content version. The result keeps the placeholders from
`newsletter.personalisation`; per recipient only those are replaced.
"""

import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import mjml
from django.conf import settings
from django.db import IntegrityError, transaction
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.utils import translation
from premailer import Premailer

from . import personalisation
from .colophon import colophon
from .content import absolute_url, markdown_to_safe_html, media_url
from .engagement import tracked_link_make
from .models import Article, ArticleChannel, Issue, IssueRendering
from .selectors import articles_for_email

logger = logging.getLogger(__name__)

MJML_TEMPLATE = "email/issue.mjml"
TEXT_TEMPLATE = "email/issue.txt"
# Bump when the code below changes what it produces, so cached renderings are not reused.
RENDERER_REVISION = "1"

_MEMO_SIZE = 16
_memo: dict[tuple[int, str, str], "RenderedIssue"] = {}


class RenderingError(Exception):
    """The email template or its MJML could not be rendered; the message says where and why."""


@dataclass(frozen=True)
class RenderedIssue:
    issue_id: int
    language: str  # "sv" or "en"
    subject: str
    preheader: str
    html: str  # complete HTML document, CSS inlined, containing the placeholders
    text: str  # plain-text alternative, containing the placeholders
    version: str  # changes whenever the issue or its articles change


def mjml_to_html(source: str) -> str:
    """The one call into the MJML library (tests count calls to it)."""
    return mjml.mjml2html(source, disable_comments=True)


def issue_render(*, issue: Issue, language: str | None = None) -> RenderedIssue:
    """The issue's email in `language` (default: the issue's), rendered at most once per version.

    Looks in this process's memo, then in the database, and only then renders. Raises
    RenderingError when the template or the MJML is broken.
    """
    language = language or issue.language
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"unknown language {language!r}")
    articles = list(articles_for_email(issue=issue))
    version = issue_version(issue=issue, articles=articles)
    key = (issue.pk, language, version)
    if key in _memo:
        return _memo[key]

    row = IssueRendering.objects.filter(
        issue_id=issue.pk, language=language, version=version
    ).first()
    if row is None:
        row = _render_and_store(issue=issue, articles=articles, language=language, version=version)
    return _memo_keep(key, row)


def issue_personalise(
    rendered: RenderedIssue, *, name: str, preferences_url: str, unsubscribe_url: str
) -> tuple[str, str]:
    """(html, text) for one recipient: the placeholders replaced, nothing re-rendered."""
    values = personalisation.personal_values(
        name=name,
        preferences_url=preferences_url,
        unsubscribe_url=unsubscribe_url,
        language=rendered.language,
    )
    return (
        personalisation.placeholders_fill(rendered.html, values.html),
        personalisation.placeholders_fill(rendered.text, values.text),
    )


def issue_render_keep(*, issue: Issue, languages: list[str], version: str) -> None:
    """Render `version` in each language and keep the rows for good (a dispatch sends them).

    Raises RenderingError when the issue's content is no longer `version` (it changed since
    the caller read it): a dispatch must freeze exactly what was approved and confirmed.
    """
    for language in sorted(set(languages)):
        rendered = issue_render(issue=issue, language=language)
        if rendered.version != version:
            raise RenderingError(
                "Numret ändrades medan utskicket startade; granska och godkänn det igen."
            )
        kept = IssueRendering.objects.filter(
            issue_id=issue.pk, language=language, version=version
        ).update(kept=True)
        if not kept:
            # Another process rendered a newer version and deleted this one in between.
            articles = list(articles_for_email(issue=issue))
            _render_and_store(issue=issue, articles=articles, language=language, version=version)
            IssueRendering.objects.filter(
                issue_id=issue.pk, language=language, version=version
            ).update(kept=True)


def issue_render_frozen(*, issue: Issue, language: str, version: str) -> RenderedIssue:
    """The kept rendering `version` of the issue, whatever its content is now.

    A language the dispatch did not freeze at start (none should be missing) is rendered only
    while the issue is still that version; otherwise sending it would send other content.
    """
    key = (issue.pk, language, version)
    if key in _memo:
        return _memo[key]
    row = IssueRendering.objects.filter(
        issue_id=issue.pk, language=language, version=version
    ).first()
    if row is None:
        rendered = issue_render(issue=issue, language=language)
        if rendered.version != version:
            raise RenderingError(
                f"Den skickade versionen {version[:12]} av {issue} finns inte på {language}."
            )
        return rendered
    return _memo_keep(key, row)


def _memo_keep(key: tuple[int, str, str], row: IssueRendering) -> RenderedIssue:
    """The stored rendering as this process keeps it, in a memo of bounded size."""
    issue_id, language, version = key
    rendered = RenderedIssue(
        issue_id=issue_id,
        language=language,
        subject=row.subject,
        preheader=row.preheader,
        html=row.html,
        text=row.text,
        version=version,
    )
    if len(_memo) >= _MEMO_SIZE:
        _memo.pop(next(iter(_memo)))
    _memo[key] = rendered
    return rendered


def issue_current_version(*, issue: Issue) -> str:
    """The version the issue's email has now (what an approval and a dispatch name)."""
    return issue_version(issue=issue, articles=list(articles_for_email(issue=issue)))


def issue_version(*, issue: Issue, articles: list[Article]) -> str:
    """A hash of everything the email depends on: content, templates, translations, site
        address, code. Only what the email shows counts (an article's body is on the web only,
    unless the article is email-only),
        so an edit readers of the email cannot see neither withdraws an approval nor makes a new
        rendering; the compiled catalogues count, since the template's own words come from them."""
    templates = [_template_source(MJML_TEMPLATE), _template_source(TEXT_TEMPLATE)]
    fields = {
        "issue": [
            issue.title, issue.slug, issue.year, issue.number, issue.subject, issue.preheader,
            issue.intro, issue.language, issue.cover_image.name, issue.cover_image_alt,
            # Turning counting on or off changes every article link and the footer.
            issue.count_engagement,
        ],
        "articles": [
            [
                article.pk, article.position, article.kicker, article.heading, article.slug,
                article.lead, article.image.name, article.image_alt,
                article.image_credit, article.cta_label, article.cta_url, article.channel,
                # An email-only article has no web page: the email carries its body instead.
                article.body if article.channel == ArticleChannel.EMAIL_ONLY else "",
            ]
            for article in articles
        ],
        "templates": templates,
        "catalogues": _catalogue_digests(),
        # The colophon (publisher, ansvarig utgivare, ISSNs) is printed in the email's footer.
        "settings": [settings.SITE_URL, settings.MEDIA_URL, *colophon().as_list()],
        "revision": RENDERER_REVISION,
    }  # fmt: skip
    encoded = json.dumps(fields, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()


_catalogue_memo: dict[tuple[str, int, int], str] = {}


def _catalogue_digests() -> list[list[str]]:
    """The compiled translation catalogues (.mo) of the project for every language an issue
    can be rendered in, as (path, sha256). Read again only when a file's size or time
    changes, so a deploy with new translations makes a new version without a restart."""
    digests = []
    for locale_path in settings.LOCALE_PATHS:
        for language, _name in settings.LANGUAGES:
            path = Path(locale_path) / language / "LC_MESSAGES" / "django.mo"
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            key = (str(path), stat.st_size, stat.st_mtime_ns)
            if key not in _catalogue_memo:
                _catalogue_memo[key] = hashlib.sha256(path.read_bytes()).hexdigest()
            digests.append([f"{language}:{path.name}", _catalogue_memo[key]])
    return digests


def _template_source(name: str) -> str:
    try:
        return get_template(name).template.source
    except TemplateDoesNotExist as error:
        raise RenderingError(f"E-postmallen saknas: {error}") from error
    except TemplateSyntaxError as error:
        raise RenderingError(f"Fel i e-postmallen {name}: {error}") from error


def _render_and_store(
    *, issue: Issue, articles: list[Article], language: str, version: str
) -> IssueRendering:
    started = time.perf_counter()
    with translation.override(language):
        context = _email_context(issue=issue, articles=articles, language=language)
        try:
            source = get_template(MJML_TEMPLATE).render(context)
            text = get_template(TEXT_TEMPLATE).render(context)
        except TemplateSyntaxError as error:
            raise RenderingError(f"Fel i e-postmallen: {error}") from error
    try:
        html = mjml_to_html(source)
    except Exception as error:  # mrml raises ValueError; anything else is just as fatal here
        raise RenderingError(f"MJML-fel i {MJML_TEMPLATE}: {error}") from error
    html = _html_finish(_css_inline(html))
    seconds = time.perf_counter() - started

    row = IssueRendering(
        issue_id=issue.pk,
        language=language,
        version=version,
        subject=context["subject"],
        preheader=context["preheader"],
        html=html,
        text=_text_tidy(text),
        render_seconds=seconds,
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        # Another process rendered the same version at the same moment; use theirs.
        return IssueRendering.objects.get(issue_id=issue.pk, language=language, version=version)
    # Older versions are never read again (the version is derived from the current content),
    # except those a dispatch sends or sent: they are kept (issue_render_keep).
    IssueRendering.objects.filter(issue_id=issue.pk, language=language, kept=False).exclude(
        pk=row.pk
    ).delete()
    logger.info("rendered %s (%s) in %.3f s", issue, language, seconds)
    return row


def _article_link(issue: Issue, article: Article, url: str) -> str:
    """The link as it goes into the email: through the counting redirect when the issue
    counts clicks (newsletter.engagement), else the URL itself."""
    if not url or not issue.count_engagement:
        return url
    return tracked_link_make(article_id=article.pk, url=url)


def _email_context(*, issue: Issue, articles: list[Article], language: str) -> dict:
    return {
        "count_engagement": issue.count_engagement,
        "language": language,
        "issue": issue,
        "subject": issue.subject or issue.title,
        "preheader": issue.preheader,
        "intro_paragraphs": [p.strip() for p in issue.intro.split("\n\n") if p.strip()],
        "web_url": absolute_url(issue.get_absolute_url()),
        "archive_url": absolute_url("/arkiv/"),
        "cover_url": media_url(issue.cover_image.name) if issue.cover_image else "",
        "articles": [
            {
                "anchor": f"artikel-{article.slug}",
                "kicker": article.kicker,
                "heading": article.heading,
                "lead": article.lead,
                # An email-only article has no web page to read more on (it is a 404 there):
                # its body goes in the email instead of the link.
                "permalink": ""
                if article.channel == ArticleChannel.EMAIL_ONLY
                else _article_link(issue, article, absolute_url(article.get_absolute_url())),
                "body_html": markdown_to_safe_html(article.body)
                if article.channel == ArticleChannel.EMAIL_ONLY
                else "",
                "body_text": article.body if article.channel == ArticleChannel.EMAIL_ONLY else "",
                "image_url": media_url(article.image.name) if article.image else "",
                "image_alt": article.image_alt,
                "image_credit": article.image_credit,
                "cta_label": article.cta_label,
                "cta_url": _article_link(issue, article, article.cta_url),
            }
            for article in articles
        ],
        "publisher_name": settings.PUBLISHER_NAME,
        "publisher_address": settings.PUBLISHER_ADDRESS,
        "colophon": colophon(),
        "NAME": personalisation.NAME,
        "PREFERENCES_URL": personalisation.PREFERENCES_URL,
        "UNSUBSCRIBE_URL": personalisation.UNSUBSCRIBE_URL,
    }


def _css_inline(html: str) -> str:
    # Media queries (mobile widths, dark mode) cannot be inlined; premailer keeps them in <style>.
    return Premailer(
        html,
        keep_style_tags=False,
        strip_important=False,
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,
        allow_network=False,
    ).transform()


_TABLE_WITHOUT_ROLE = re.compile(r"<table(?![^>]*\brole=)", re.IGNORECASE)
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\balt=)[^>]*>", re.IGNORECASE)
_COLOR_SCHEME_META = (
    '<meta name="color-scheme" content="light dark">'
    '<meta name="supported-color-schemes" content="light dark">'
)


def _html_finish(html: str) -> str:
    """What MJML and premailer leave out: doctype, role on every layout table, colour schemes."""
    html = _TABLE_WITHOUT_ROLE.sub('<table role="presentation"', html)
    html = html.replace("<head>", "<head>" + _COLOR_SCHEME_META, 1)
    if not html.lstrip().lower().startswith("<!doctype"):
        html = "<!doctype html>\n" + html
    missing = _IMG_WITHOUT_ALT.search(html)
    if missing:
        raise RenderingError(f"Bild utan alternativtext i e-postmallen: {missing.group(0)}")
    return html


def _text_tidy(text: str) -> str:
    """At most one blank line in a row and no trailing spaces: the template's tags leave gaps."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy) + "\n"
