"""Render time per issue and personalisation time per recipient.

    DATABASE_URL=postgres://… .venv/bin/python bench/render_bench.py [--recipients 10000] [--json]

Uses the demo issue "Länsnytt 2018:1" (created if missing). A cold render forces MJML and
premailer by clearing the stored renderings first; a warm render is what every later call
(and every Celery worker) pays: a content hash plus a database or memo read.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lansnytt.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    arguments = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    from newsletter import rendering
    from newsletter.demo import demo_issue_ensure
    from newsletter.models import IssueRendering

    call_command("migrate", verbosity=0)
    issue = demo_issue_ensure()

    cold = []
    for _ in range(arguments.cold_runs):
        IssueRendering.objects.filter(issue=issue).delete()
        rendering._memo.clear()
        started = time.perf_counter()
        rendered = rendering.issue_render(issue=issue)
        cold.append(time.perf_counter() - started)

    rendering._memo.clear()
    started = time.perf_counter()
    rendering.issue_render(issue=issue)
    warm_db = time.perf_counter() - started

    started = time.perf_counter()
    for _ in range(100):
        rendering.issue_render(issue=issue)
    warm_memo = (time.perf_counter() - started) / 100

    started = time.perf_counter()
    for number in range(arguments.recipients):
        rendering.issue_personalise(
            rendered,
            name=f"Läsare {number}",
            preferences_url=f"https://lansnytt.example/prenumeration/{number}.abcdefghij/",
            unsubscribe_url=f"https://lansnytt.example/avregistrera/{number}.abcdefghij/",
        )
    per_recipient = (time.perf_counter() - started) / arguments.recipients

    result = {
        "issue": str(issue),
        "articles": issue.articles.count(),
        "html_bytes": len(rendered.html.encode()),
        "render_cold_seconds_median": statistics.median(cold),
        "render_cold_seconds_max": max(cold),
        "render_warm_from_database_seconds": warm_db,
        "render_warm_from_memo_seconds": warm_memo,
        "personalise_seconds_per_recipient": per_recipient,
        "recipients": arguments.recipients,
    }
    if arguments.json:
        print(json.dumps(result))
        return
    print(f"{result['issue']}: {result['articles']} articles, {result['html_bytes']} bytes HTML")
    print(f"render (MJML + premailer), median of {len(cold)}: {statistics.median(cold):.3f} s")
    print(f"render again, from the database:  {warm_db * 1000:.2f} ms")
    print(f"render again, from process memo:  {warm_memo * 1000:.2f} ms")
    print(f"personalise per recipient ({arguments.recipients}): {per_recipient * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
