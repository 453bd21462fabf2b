"""Stand-in for the rendering step (issue 4), so the sending pipeline can be built and tested.

Replaced at merge by the real MJML → HTML → inlined-CSS rendering with the same interface.
"""

from dataclasses import dataclass
from html import escape

from . import personalisation
from .models import Issue


@dataclass(frozen=True)
class RenderedIssue:
    issue_id: int
    language: str
    subject: str
    preheader: str
    html: str  # complete HTML, CSS inlined, containing the placeholders of personalisation.py
    text: str  # plain text containing the same placeholders
    version: str


def issue_render(*, issue: Issue, language: str | None = None) -> RenderedIssue:
    language = language or issue.language
    subject = issue.subject or issue.title
    headings = [article.heading for article in issue.articles.all()]
    items = "".join(f"<li>{escape(heading)}</li>" for heading in headings)
    html = (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{escape(subject)}</title></head><body>"
        f"<p>Hej {personalisation.NAME}!</p><h1>{escape(issue.title)}</h1><ul>{items}</ul>"
        f'<p><a href="{personalisation.PREFERENCES_URL}">Inställningar</a> · '
        f'<a href="{personalisation.UNSUBSCRIBE_URL}">Avregistrera</a></p></body></html>'
    )
    text = (
        f"Hej {personalisation.NAME}!\n\n{issue.title}\n\n"
        + "".join(f"* {heading}\n" for heading in headings)
        + f"\nInställningar: {personalisation.PREFERENCES_URL}\n"
        f"Avregistrera: {personalisation.UNSUBSCRIBE_URL}\n"
    )
    return RenderedIssue(
        issue_id=issue.pk,
        language=language,
        subject=subject,
        preheader=issue.preheader,
        html=html,
        text=text,
        version=f"stand-in-{issue.updated_at:%Y%m%d%H%M%S%f}",
    )
