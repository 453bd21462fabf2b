"""The PDF edition of an issue: the web issue's content laid out as an A4 magazine, tagged as
PDF/UA-1 by WeasyPrint (structure tree, /Lang, title, bookmarks, /Alt on every image).

Generated once per content version and kept in the database (IssueEdition), so a reader's
request, the printer's proof and the legal deposit export all get the same bytes, and only
the first request after an edit pays for WeasyPrint. The version covers everything the email
covers (rendering.issue_version) plus what only the PDF shows: article bodies, the colophon,
the PDF template and stylesheet, WeasyPrint's own version.

WeasyPrint is a browser without a network here: the only URLs it may open are the issue's
own uploaded images, read from storage (EditionFetcher); an address anywhere else in the
content (an article body is editor-written Markdown) is not fetched (fetcher.py).
"""

import hashlib
import json
import logging
import time
from importlib.metadata import version as package_version

from django.db import IntegrityError, connection, transaction
from django.template.loader import get_template
from django.utils import translation

from ..colophon import colophon
from ..content import absolute_url, markdown_to_safe_html, media_url
from ..models import Article, Issue, IssueEdition
from ..rendering import issue_version
from ..selectors import articles_for_web

logger = logging.getLogger(__name__)

EDITION_TEMPLATE = "newsletter/edition/issue.html"
EDITION_STYLESHEET = "newsletter/edition/edition.css"
COLOPHON_TEMPLATE = "newsletter/_colophon.html"
# Bump when the code below changes what it produces, so stored editions are not reused.
EDITION_REVISION = "1"
PDF_VARIANT = "pdf/ua-1"


def edition_filename(issue: Issue) -> str:
    """The file's name, the same in the public URL and in the legal deposit export."""
    return f"lansnytt-{issue.slug}.pdf"


def edition_version(*, issue: Issue, articles: list[Article]) -> str:
    fields = {
        "email": issue_version(issue=issue, articles=articles),
        # What the PDF prints that the email may not: whole bodies, credits, the date.
        "articles": [[article.pk, article.body, article.image_credit] for article in articles],
        "issue": [str(issue.publication_date)],
        "colophon": colophon().as_list(),
        "templates": [
            get_template(name).template.source
            for name in (EDITION_TEMPLATE, EDITION_STYLESHEET, COLOPHON_TEMPLATE)
        ],
        "weasyprint": package_version("weasyprint"),
        "revision": EDITION_REVISION,
    }
    encoded = json.dumps(fields, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()


def issue_edition(*, issue: Issue) -> IssueEdition:
    """The issue's PDF edition at its current content, generated if this version has none.

    Whoever shows it decides who may see it: the archive only for published issues, the
    print pages for staff. Two requests for a version that does not exist yet wait for each
    other on the issue's edition lock, so WeasyPrint runs once and both get the one file.
    """
    # The edition is published beside the web issue: what the web shows, not the email.
    articles = list(articles_for_web(issue=issue))
    version = edition_version(issue=issue, articles=articles)
    found = IssueEdition.objects.filter(issue_id=issue.pk, version=version).first()
    if found is not None:
        return found
    with transaction.atomic():
        _edition_lock(issue.pk)
        found = IssueEdition.objects.filter(issue_id=issue.pk, version=version).first()
        if found is not None:
            return found
        started = time.perf_counter()
        pdf, pages = edition_pdf_generate(issue=issue, articles=articles)
        edition = IssueEdition(
            issue_id=issue.pk,
            version=version,
            pdf=pdf,
            sha256=hashlib.sha256(pdf).hexdigest(),
            pages=pages,
            render_seconds=time.perf_counter() - started,
        )
        try:
            with transaction.atomic():
                edition.save()
        except IntegrityError:
            # A database without row locks (SQLite) let another process in; use theirs.
            return IssueEdition.objects.get(issue_id=issue.pk, version=version)
        # Older versions are never served again: the version follows the current content.
        IssueEdition.objects.filter(issue_id=issue.pk).exclude(pk=edition.pk).delete()
    logger.info("PDF edition of %s: %d pages in %.2f s", issue, pages, edition.render_seconds)
    return edition


# The namespace of the edition's advisory locks (the first key of pg_advisory_xact_lock).
_LOCK_NAMESPACE = 0x1E5A


def _edition_lock(issue_id: int) -> None:
    """One generation per issue at a time, held until the transaction ends.

    An advisory lock rather than a lock on the issue's row: WeasyPrint takes seconds for a
    long issue, and an editor saving the issue meanwhile must not wait for it (the save makes
    a new version, which the next request generates). SQLite has one writer at a time anyway.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, issue_id])


def edition_html(*, issue: Issue, articles: list[Article]) -> str:
    """The HTML WeasyPrint lays out (also what the layout tests read)."""
    with translation.override(issue.language):
        return get_template(EDITION_TEMPLATE).render(
            {
                "issue": issue,
                "articles": [
                    {
                        "article": article,
                        "anchor": f"artikel-{article.slug}",
                        "body_html": markdown_to_safe_html(article.body),
                        "image_url": media_url(article.image.name) if article.image else "",
                        "permalink": absolute_url(article.get_absolute_url()),
                    }
                    for article in articles
                ],
                "cover_url": media_url(issue.cover_image.name) if issue.cover_image else "",
                "web_url": absolute_url(issue.get_absolute_url()),
                "colophon": colophon(),
            }
        )


def edition_pdf_generate(*, issue: Issue, articles: list[Article]) -> tuple[bytes, int]:
    """(PDF bytes, page count): the one call into WeasyPrint (tests count calls to it)."""
    # Imported here: WeasyPrint (with its cffi bindings) takes about half a second and tens
    # of MB to load, and the URLconf imports this module, so every web and Celery process
    # (which reverse URLs) would pay for it while only this function needs it.
    import weasyprint

    from .fetcher import EditionFetcher

    html = weasyprint.HTML(
        string=edition_html(issue=issue, articles=articles),
        base_url=absolute_url("/"),
        url_fetcher=EditionFetcher(),
    )
    options = {"pdf_variant": PDF_VARIANT, "optimize_images": False}
    document = html.render(**options)
    return document.write_pdf(**options), len(document.pages)
