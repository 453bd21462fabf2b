"""The placeholders that the once-per-issue rendering leaves for each recipient.

Rendering (MJML → HTML → inlined CSS, and the plain text) happens once per issue and
language; per recipient only these tokens are replaced. They are plain ASCII without
characters that HTML, URLs or quoted-printable would escape, so they survive every step
of the rendering unchanged.
"""

NAME = "__LANSNYTT_NAME__"
PREFERENCES_URL = "__LANSNYTT_PREFERENCES_URL__"
UNSUBSCRIBE_URL = "__LANSNYTT_UNSUBSCRIBE_URL__"

ALL = (NAME, PREFERENCES_URL, UNSUBSCRIBE_URL)


def reader_name(name: str, *, language: str) -> str:
    """The name to greet a recipient by: their own, or "läsare"/"reader" when we have none."""
    if name.strip():
        return name
    from django.utils import translation

    with translation.override(language):
        return translation.gettext("läsare")
