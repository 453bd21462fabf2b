"""The placeholders that the once-per-issue rendering leaves for each recipient.

Rendering (MJML → HTML → inlined CSS, and the plain text) happens once per issue and
language; per recipient only these tokens are replaced. They are plain ASCII without
characters that HTML, URLs or quoted-printable would escape, so they survive every step
of the rendering unchanged.
"""

import re
from dataclasses import dataclass
from html import escape

# Control characters (CR, LF, NUL, ...) have no business in a greeting; in a header they are
# what header injection is made of. The rule is the subscribers' own (one home for every
# message, transactional or newsletter); worker.message uses it from here too.
from subscribers.validation import control_characters_clean

NAME = "__LANSNYTT_NAME__"
PREFERENCES_URL = "__LANSNYTT_PREFERENCES_URL__"
UNSUBSCRIBE_URL = "__LANSNYTT_UNSUBSCRIBE_URL__"

ALL = (NAME, PREFERENCES_URL, UNSUBSCRIBE_URL)
PLACEHOLDER = re.compile("|".join(re.escape(token) for token in ALL))


@dataclass(frozen=True)
class PersonalValues:
    """What replaces each placeholder for one recipient, in the plain text and in the HTML."""

    text: dict[str, str]
    html: dict[str, str]


def personal_values(
    *, name: str, preferences_url: str, unsubscribe_url: str, language: str
) -> PersonalValues:
    """The one place that decides what a recipient's placeholders become; the preview and the
    sending pipeline both fill them from here."""
    greeting = reader_name(control_characters_clean(name), language=language)
    text = {NAME: greeting, PREFERENCES_URL: preferences_url, UNSUBSCRIBE_URL: unsubscribe_url}
    return PersonalValues(text=text, html={token: escape(value) for token, value in text.items()})


def placeholders_fill(content: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: values[match.group(0)], content)


def reader_name(name: str, *, language: str) -> str:
    """The name to greet a recipient by: their own, or "läsare"/"reader" when we have none."""
    if name.strip():
        return name
    from django.utils import translation

    with translation.override(language):
        return translation.gettext("läsare")
