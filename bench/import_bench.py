"""Import speed and memory for a 10 000-row mailing list, against PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lansnytt_bench \
        .venv/bin/python bench/import_bench.py

Creates the database if it is missing, migrates it, empties the subscriber tables, then
imports a generated CSV three times: fresh (all created), again (all unchanged) and with
--update after changing every name (all updated). Prints wall-clock and CPU time for each
(CPU time is what the import itself costs; wall-clock also counts the database and a busy
machine), then repeats the fresh import under tracemalloc for the peak of Python
allocations, and prints the process's peak resident memory.
"""

import argparse
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lansnytt_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lansnytt.settings")

MUNICIPALITIES = ["Solna", "Nacka", "Täby", "Huddinge", "Botkyrka", "Stockholm", "Lidingö"]


def database_ensure() -> None:
    """Create the benchmark database when it does not exist yet (PostgreSQL only)."""
    import psycopg

    url = os.environ["DATABASE_URL"]
    if not url.startswith(("postgres://", "postgresql://")):
        return
    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if exists.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')


def csv_generate(rows: int, *, name_suffix: str = "") -> bytes:
    lines = ["e-post;namn;titel;organisation;typ;kommun;adress;postnummer;postort;kanal;segment"]
    for number in range(rows):
        municipality = MUNICIPALITIES[number % len(MUNICIPALITIES)]
        library = number % 300
        lines.append(
            f"Person{number}@Example.se;Person {number}{name_suffix};bibliotekarie;"
            f"{municipality} bibliotek {library};folkbibliotek;{municipality};"
            f"Biblioteksgatan {library};{11100 + library};{municipality};"
            f"{['email', 'print', 'email+print'][number % 3]};bench-folkbibliotek"
        )
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def tables_empty() -> None:
    from subscribers.models import ConsentEvent, Organisation, Subscriber

    ConsentEvent.objects.all()._raw_delete(ConsentEvent.objects.db)  # append-only by design
    Subscriber.objects.all().delete()
    Organisation.objects.all().delete()


def measure(label: str, content: bytes, **options) -> None:
    from subscribers.importing import subscribers_import

    started, cpu_started = time.perf_counter(), time.process_time()
    report = subscribers_import(content=content, filename="bench.csv", **options)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    assert report.ok, report.lines()[:5]
    print(f"{label:<26} wall {elapsed:6.2f} s   cpu {cpu:6.2f} s   ({report.summary()})")


def allocations_measure(content: bytes) -> None:
    from subscribers.importing import subscribers_import

    tables_empty()
    tracemalloc.start()
    report = subscribers_import(content=content, filename="bench.csv")
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.ok and report.created, report.lines()[:5]
    print(f"peak Python allocations during a fresh import: {peak / 2**20:.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    arguments = parser.parse_args()

    database_ensure()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from subscribers.models import Segment

    call_command("migrate", verbosity=0)
    tables_empty()
    Segment.objects.get_or_create(slug="bench-folkbibliotek", defaults={"name": "Bench"})

    content = csv_generate(arguments.rows)
    print(
        f"import of {arguments.rows} rows ({len(content) / 2**20:.1f} MiB CSV) "
        f"on {connection.vendor} {connection.settings_dict['NAME']}"
    )
    measure("first import (create)", content)
    measure("same file again", content)
    measure("changed names, --update", csv_generate(arguments.rows, name_suffix=" B"), update=True)
    allocations_measure(content)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the process: {peak_rss:.0f} MiB")


if __name__ == "__main__":
    main()
