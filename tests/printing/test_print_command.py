"""export_print run as an operator runs it: a separate process, its exit status and output."""

import csv
import subprocess
from pathlib import Path

import pytest

from printing.runs import print_run_finalise
from tests.commands import manage_run, testdb_env
from tests.factories import reference_data_ensure
from tests.print_scenario import print_scenario_make

# A separate process sees only committed rows, hence a transactional test.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def reference_data():
    # The flush between transactional tests removes the regions and municipalities.
    reference_data_ensure()


def export_print(*args: str) -> subprocess.CompletedProcess:
    """Run manage.py export_print against the test database (committed data is visible)."""
    return manage_run("export_print", *args, env=testdb_env(), timeout=60)


def test_it_exits_non_zero_and_lists_what_to_fix(tmp_path):
    print_scenario_make()
    output = tmp_path / "tryck.csv"

    result = export_print("2018-1", "--format", "csv", "-o", str(output))

    assert result.returncode == 2
    assert "Att åtgärda (3):" in result.stderr
    assert "Utan Adress: ingen egen adress och ingen organisation" in result.stderr
    assert "--allow-incomplete" in result.stderr
    assert "Källa: Utkast" in result.stdout
    assert "Totalt 23 ex. = 8 ex. till 4 mottagare + 15 ex. på 2 extrarader" in result.stdout
    assert output.read_bytes().startswith(b"\xef\xbb\xbf")


def test_it_exits_zero_with_allow_incomplete_and_says_it_used_the_final_run(tmp_path):
    scenario = print_scenario_make()
    print_run_finalise(issue=scenario["issue"], allow_incomplete=True)

    results = {
        export_format: export_print(
            "2018-1",
            "--format",
            export_format,
            "-o",
            str(tmp_path / f"tryck.{export_format}"),
            "--allow-incomplete",
        )
        for export_format in ("csv", "xlsx", "pdf")
    }

    for result in results.values():
        assert result.returncode == 0, result.stderr
        assert "Källa: Slutlig upplaga, skickad till tryckeriet" in result.stdout
        assert "Skyddad Person" not in result.stdout + result.stderr
    assert Path(tmp_path / "tryck.xlsx").read_bytes()[:2] == b"PK"
    assert Path(tmp_path / "tryck.pdf").read_bytes()[:5] == b"%PDF-"


def test_it_limits_to_a_segment_and_exits_zero_when_nothing_needs_fixing(tmp_path):
    print_scenario_make()
    output = tmp_path / "politik.csv"

    result = export_print("2018-1", "--format", "csv", "-o", str(output), "--segment", "politik")

    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(output.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    names = [row[2] for row in rows[1:] if row and row[0] != "Totalt"]
    assert names == ["Karin Politiker", "Bokmässan i Göteborg", "Arkivexemplar"]


def test_it_rejects_an_unknown_issue_or_segment():
    print_scenario_make()

    unknown_issue = export_print("1999-9", "--format", "csv")
    unknown_segment = export_print("2018-1", "--format", "csv", "--segment", "saknas")

    assert unknown_issue.returncode == 1 and "1999-9" in unknown_issue.stderr
    assert unknown_segment.returncode == 1 and "okänt segment: saknas" in unknown_segment.stderr
