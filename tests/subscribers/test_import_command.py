"""`manage.py import_subscribers`: the acceptance case, through call_command and a real process."""

import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from subscribers.models import Subscriber
from tests.commands import manage_run, testdb_env
from tests.factories import segment_make

ROOT = Path(__file__).resolve().parents[2]
HEADER = "e-post;namn;organisation;typ;kommun;adress;postnummer;postort;kanal;segment"
BAD_LINES = {
    # line number in the file -> (row, column named in the report)
    12: ("felaktig.adress@@example.se;Fel Adress;;;;;;;email;", "e-post"),
    30: ("postnummer@example.se;Post Nummer;;;;Storgatan 1;0123;Solna;print;", "postnummer"),
    51: ("segment@example.se;Seg Ment;;;;;;;email;finns-inte", "segment"),
    77: ("typ@example.se;Ty P;Bokhandeln;bokhandel;Solna;;;;email;", "typ"),
    # A duplicate of line 2 in another case.
    95: ("PERSON1@EXAMPLE.SE;Dubbel;;;;;;;email;", "e-post"),
}


def good_row(number: int) -> str:
    index = number % 4
    municipality = ["Solna", "Nacka", "Täby", "Huddinge"][index]
    return (
        f"person{number}@example.se;Person {number};{municipality} bibliotek;folkbibliotek;"
        f"{municipality};Biblioteksgatan {index + 1};{17140 + index};{municipality};"
        f"{['email', 'print', 'email+print'][number % 3]};folkbibliotek-i-lanet"
    )


def csv_text(*, with_bad_rows: bool) -> str:
    """100 data rows (lines 2-101), the bad ones at BAD_LINES; or the 95 good ones."""
    lines = [HEADER]
    for line in range(2, 102):
        if line in BAD_LINES:
            if with_bad_rows:
                lines.append(BAD_LINES[line][0])
        else:
            lines.append(good_row(line - 1))
    return "\ufeff" + "\r\n".join(lines) + "\r\n"


@pytest.fixture
def files(tmp_path):
    dirty = tmp_path / "lista-med-fel.csv"
    dirty.write_text(csv_text(with_bad_rows=True), encoding="utf-8", newline="")
    clean = tmp_path / "lista.csv"
    clean.write_text(csv_text(with_bad_rows=False), encoding="utf-8", newline="")
    return dirty, clean


@pytest.mark.django_db
def test_it_rejects_a_file_with_five_bad_rows_then_imports_the_cleaned_file_once(files, capsys):
    segment_make(slug="folkbibliotek-i-lanet")
    dirty, clean = files

    with pytest.raises(CommandError) as raised:
        call_command("import_subscribers", str(dirty))
    assert raised.value.returncode == 1
    report = capsys.readouterr().err.splitlines()
    named = [line for line in report if line.startswith("line ")]
    assert [line.split(":")[0:2] for line in named] == [
        [f"line {number}", f" {column}"] for number, (_row, column) in BAD_LINES.items()
    ]
    assert all(len(line.split(": ", 2)[2]) > 5 for line in named)  # each names its reason
    assert Subscriber.objects.count() == 0

    call_command("import_subscribers", str(clean))
    assert Subscriber.objects.count() == 95
    assert "skapade: 95" in capsys.readouterr().out

    call_command("import_subscribers", str(clean))
    assert "skapade: 0, uppdaterade: 0, oförändrade: 95" in capsys.readouterr().out
    assert Subscriber.objects.count() == 95


def test_it_refuses_a_missing_file():
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_subscribers", "/nonexistent/lista.csv")


@pytest.mark.django_db(transaction=True)
def test_it_exits_with_status_one_from_a_real_process(files):
    """The exit status is what scripts see; check it on a real `manage.py` process."""
    segment_make(slug="folkbibliotek-i-lanet")
    dirty, clean = files
    env = testdb_env()

    def manage(*args: str) -> subprocess.CompletedProcess:
        return manage_run("import_subscribers", *args, env=env)

    failed = manage(str(dirty))
    assert failed.returncode == 1, failed.stderr
    assert sum(line.startswith("line ") for line in failed.stderr.splitlines()) == 5
    assert Subscriber.objects.count() == 0

    dry = manage(str(clean), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert Subscriber.objects.count() == 0

    imported = manage(str(clean), "--segment", "folkbibliotek-i-lanet")
    assert imported.returncode == 0, imported.stderr
    assert Subscriber.objects.count() == 95


@pytest.mark.django_db
def test_it_refuses_a_file_over_the_byte_limit_before_reading_it(tmp_path):
    huge = tmp_path / "stor.csv"
    with huge.open("wb") as file:
        file.write(b"email\n")
        file.truncate(50 * 2**20)  # 50 MB that take no disk: reading them would still cost

    with pytest.raises(CommandError) as raised:
        call_command("import_subscribers", str(huge))

    assert raised.value.returncode == 1
    assert str(raised.value) == (
        f"{huge}: filen är 50,0\xa0MB, större än gränsen 10,0\xa0MB (IMPORT_MAX_BYTES)"
    )
    assert not Subscriber.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_file_over_a_limit_with_the_same_report_as_the_page(tmp_path):
    content = "e-post\n" + "".join(f"p{n}@example.se\n" for n in range(50_001))
    (tmp_path / "lang.csv").write_text(content, encoding="utf-8")

    with pytest.raises(CommandError, match="Importen avbröts: 1 fel"):
        call_command("import_subscribers", str(tmp_path / "lang.csv"))

    assert not Subscriber.objects.exists()
