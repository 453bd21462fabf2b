"""The English translation is complete and the compiled catalogue matches its source."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def test_it_has_an_english_string_for_every_swedish_one():
    untranslated = subprocess.run(
        ["msgattrib", "--untranslated", "--no-wrap", str(PO)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fuzzy = subprocess.run(
        ["msgattrib", "--only-fuzzy", "--no-wrap", str(PO)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    missing = [
        line
        for line in untranslated.splitlines()
        if line.startswith('msgid "') and line != 'msgid ""'
    ]
    assert missing == []
    assert 'msgid "' not in fuzzy.replace('msgid ""', "")


def test_it_ships_the_catalogue_compiled_from_the_current_source(tmp_path):
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(PO)], check=True)

    assert compiled.read_bytes() == MO.read_bytes()
