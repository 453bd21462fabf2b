"""Every file lansnytt generates under VAR_DIR is in one table, so erasure cannot forget one.

A writer that built its own path under VAR_DIR (or the outbox) would be invisible to
`lansnytt.generated_files.generated_files_forget`; this finds such a writer in the source.
"""

import ast
from pathlib import Path

from lansnytt.generated_files import GENERATED, Forgetting

ROOT = Path(__file__).resolve().parents[2]
APPS = ("lansnytt", "accounts", "subscribers", "newsletter", "worker", "printing")
# The settings define VAR_DIR and the outbox; the table hands out the directories.
ALLOWED = {ROOT / "lansnytt" / "settings.py", ROOT / "lansnytt" / "generated_files.py"}
LOCATION_SETTINGS = {"VAR_DIR", "EMAIL_OUTBOX_DIR"}


def _uses_of_location_settings(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.Attribute) and node.attr in LOCATION_SETTINGS)
        or (isinstance(node, ast.Name) and node.id in LOCATION_SETTINGS)
        or (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value in LOCATION_SETTINGS
        )
    ]


def test_it_builds_paths_under_var_dir_only_through_the_table_of_generated_files():
    offenders = {
        f"{path.relative_to(ROOT)}:{line}"
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if path not in ALLOWED
        for line in _uses_of_location_settings(path)
    }

    assert offenders == set(), (
        "Take the directory from lansnytt.generated_files.generated_dir() and add a row to "
        "GENERATED saying what erasure does to the files"
    )


def test_it_says_for_every_kind_of_generated_file_what_erasure_does_to_it():
    assert set(GENERATED) >= {"outbox", "print"}
    assert GENERATED["outbox"].forgetting is Forgetting.FILES_NAMING_THE_ADDRESS
    assert GENERATED["print"].forgetting is Forgetting.EVERY_FILE
    for kind, generated in GENERATED.items():
        assert generated.what, kind
