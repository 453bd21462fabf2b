"""CSV for Swedish Excel that is safe to open: shared by every app that exports a list.

Semicolon-separated and UTF-8 with a byte order mark, because that is what Excel with Swedish
regional settings reads without an import wizard. Cells that start like a formula are
prefixed with an apostrophe so a hostile name such as `=HYPERLINK(...)` stays text (OWASP
"CSV injection").
"""

import csv
from typing import TextIO

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def formula_escape(value: object) -> object:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe.

    Other values keep their type, so numbers stay numbers in XLSX.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def excel_csv_writer(stream: TextIO):
    """A csv writer for Swedish Excel: byte order mark, semicolons, CRLF.

    No "sep=;" line: it makes Excel ignore the byte order mark and garble å, ä and ö.
    """
    stream.write("\ufeff")
    return csv.writer(stream, delimiter=";", lineterminator="\r\n")
