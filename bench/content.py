"""The benchmark's newsletter content, shared by every contender so that all send the same.

Deterministic Swedish text: the same articles go into the lansnytt issue `bench-1`, into the
floor's prepared message and into django-newsletter's message, so each contender sends
a message of about the same size (the sink's byte count per message shows it in the table).
"""

import email.policy
import hashlib
import html
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

# The floor's own placeholders; plain ASCII that 8bit transfer encoding leaves untouched.
ADDRESS = "__BENCH_ADDRESS__"
NAME = "__BENCH_NAME__"
PREFERENCES_URL = "__BENCH_PREFERENCES_URL__"
UNSUBSCRIBE_URL = "__BENCH_UNSUBSCRIBE_URL__"
TOKEN_PATTERN = re.compile(rb"(__BENCH_[A-Z_]+__)")

SENDER = "lansnytt@example.org"
SITE = "https://lansnytt.example.org"

# About 40 KB per message, the size the targets are stated for.
ARTICLE_COUNT = 6

_WORDS = (
    "biblioteket läsfrämjande regionen kommunerna samverkan medielänet fjärrlån "
    "barnbibliotek skolbibliotek digitalisering kompetensutveckling meröppet "
    "folkbiblioteken Stockholms län utveckling verksamhet läsare samlingar "
    "programverksamhet nationella biblioteksstrategin språkcaféer bokcirklar "
    "lättläst mångspråk e-medier utlåning besökare öppettider personalen "
    "kulturrådet arbetsgrupp nätverksträff konferens rapport undersökning"
).split()


@dataclass(frozen=True)
class BenchArticle:
    heading: str
    lead: str
    paragraphs: tuple[str, ...]
    url: str


def _sentence(seed: int, length: int) -> str:
    words = [_WORDS[(seed * 7 + index * 13) % len(_WORDS)] for index in range(length)]
    return " ".join(words).capitalize() + "."


def bench_articles(count: int = ARTICLE_COUNT) -> list[BenchArticle]:
    articles = []
    for number in range(1, count + 1):
        paragraphs = tuple(
            " ".join(_sentence(number * 31 + p * 5 + s, 9 + (s % 5)) for s in range(5))
            for p in range(4)
        )
        articles.append(
            BenchArticle(
                heading=f"Artikel {number}: {_sentence(number, 4)[:-1]}",
                lead=_sentence(number * 3, 18),
                paragraphs=paragraphs,
                url=f"{SITE}/arkiv/bench-1/artikel-{number}/",
            )
        )
    return articles


def bench_html(articles: list[BenchArticle]) -> str:
    """Email HTML in the shape a responsive template produces: nested tables, inline styles."""
    cell = (
        'style="padding:0 24px;font-family:Georgia,serif;font-size:17px;line-height:1.5;color:#222"'
    )
    blocks = []
    for article in articles:
        paragraphs = "\n".join(
            f'<p style="margin:0 0 14px 0">{html.escape(text)}</p>' for text in article.paragraphs
        )
        blocks.append(
            f"""<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">
<tr><td {cell}>
<h2 style="margin:24px 0 8px 0;font-size:24px;font-family:Helvetica,Arial,sans-serif">{html.escape(article.heading)}</h2>
<p style="margin:0 0 14px 0;font-weight:bold">{html.escape(article.lead)}</p>
{paragraphs}
<p style="margin:0 0 24px 0"><a href="{article.url}" style="color:#005b99">Läs mer</a></p>
</td></tr></table>"""
        )
    body = "\n".join(blocks)
    return f"""<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Länsnytt bench</title></head>
<body style="margin:0;padding:0;background:#f4f4f4">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr><td align="center">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" style="background:#fff">
<tr><td {cell}><p>Hej {NAME}!</p></td></tr>
<tr><td>
{body}
</td></tr>
<tr><td {cell}><p style="font-size:13px;color:#555"><a href="{PREFERENCES_URL}">Ändra dina inställningar</a> · <a href="{UNSUBSCRIBE_URL}">Avsluta prenumerationen</a></p></td></tr>
</table></td></tr></table>
</body></html>
"""


def bench_text(articles: list[BenchArticle]) -> str:
    parts = [f"Hej {NAME}!", ""]
    for article in articles:
        parts += [article.heading, "", article.lead, ""]
        parts += [*article.paragraphs, ""]
        parts += [f"Läs mer: {article.url}", ""]
    parts += [f"Ändra dina inställningar: {PREFERENCES_URL}", f"Avsluta: {UNSUBSCRIBE_URL}"]
    return "\n".join(parts) + "\n"


def bench_template() -> bytes:
    """The whole message with placeholders, built once: multipart/alternative, text + html."""
    articles = bench_articles()
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = f"Länsnytt <{SENDER}>"
    message["To"] = ADDRESS
    message["Subject"] = "Länsnytt bench-1: nytt från biblioteken i länet"
    message["Date"] = formatdate(localtime=True)
    message["List-Unsubscribe"] = f"<{UNSUBSCRIBE_URL}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # 8bit keeps the placeholders intact (quoted-printable could wrap a line through one).
    message.set_content(bench_text(articles), cte="8bit")
    message.add_alternative(bench_html(articles), subtype="html", cte="8bit")
    return message.as_bytes()


def template_pieces(template: bytes) -> list[bytes]:
    """The template split so that odd positions are placeholders: per recipient a join."""
    return TOKEN_PATTERN.split(template)


def recipient_values(count: int, *, start: int = 1) -> list[dict[bytes, bytes]]:
    """Per-recipient address, name and personal links, computed before any clock starts.

    The tokens look like signed tokens of the real length, so the substituted message has the
    real size.
    """
    values = []
    for number in range(start, start + count):
        digest = hashlib.sha256(str(number).encode()).hexdigest()
        token = f"{number}.{digest[:16]}:{digest[16:59]}"
        values.append(
            {
                ADDRESS.encode(): f"prenumerant{number}@bench.invalid".encode(),
                NAME.encode(): f"Prenumerant {number}".encode(),
                PREFERENCES_URL.encode(): f"{SITE}/prenumeration/installningar/{token}/".encode(),
                UNSUBSCRIBE_URL.encode(): f"{SITE}/prenumeration/avsluta/{token}/".encode(),
            }
        )
    return values


def message_assemble(pieces: list[bytes], values: dict[bytes, bytes]) -> bytes:
    parts = pieces[:]
    for index in range(1, len(parts), 2):
        parts[index] = values[parts[index]]
    return b"".join(parts)
