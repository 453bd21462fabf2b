"""Planning time, and pipeline throughput side by side with a raw smtplib loop.

    DATABASE_URL=postgres://… REDIS_URL=redis://127.0.0.1:6379/N \
        .venv/bin/python bench/sending_bench.py [--recipients 20000] [--plan 100000] [--json]

Works in a throwaway database (the test database name, created and dropped here) so the real
one is untouched. Steps:

1. planning: `--plan` subscribers in one segment, then the time of `dispatch_plan` (the one
   INSERT ... SELECT); target < 2 s for 100,000.
2. throughput: `--recipients` subscribers sent through the whole pipeline (Celery workers
   started here, Redis broker, one connection per batch) to an SMTP sink on loopback (an
   aiosmtpd process that accepts and discards), and a raw smtplib loop sending the same
   pre-built message over one persistent connection to the same sink. Prints messages per
   second for both, the ratio (target ≥ 0.70) and the workers' peak memory (RSS of the
   worker process tree), which should stay flat as N grows.
"""

import argparse
import json
import multiprocessing
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lansnytt.settings")


def sink_serve(port: int) -> None:
    import asyncio

    from aiosmtpd.controller import Controller

    class Discard:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    controller = Controller(Discard(), hostname="127.0.0.1", port=port)
    controller.start()
    signal.sigwait({signal.SIGTERM})
    controller.stop()
    del asyncio


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def subscribers_insert(count: int, *, slug: str) -> None:
    """Bulk-create subscribers and their segment membership in SQL (setup, not measured)."""
    from django.db import connection

    from subscribers.models import Segment

    segment = Segment.objects.create(slug=slug, name=slug)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO subscribers_subscriber (email, email_hash, name, title, language,
                channel, status, legal_basis, protected_identity, care_of, street,
                postal_code, city, country, created_at, updated_at)
            SELECT %s || n || '@example.se', md5(%s || n), 'Läsare ' || n, '', 'sv', 'email',
                'active', 'consent', false, '', '', '', '', 'Sverige', now(), now()
            FROM generate_series(1, %s) AS n
            """,
            [slug, slug, count],
        )
        cursor.execute(
            """
            INSERT INTO subscribers_subscriber_segments (subscriber_id, segment_id)
            SELECT id, %s FROM subscribers_subscriber WHERE email LIKE %s
            """,
            [segment.pk, f"{slug}%"],
        )


def worker_tree_rss(process) -> int:
    import psutil

    try:
        root = psutil.Process(process.pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    except psutil.NoSuchProcess:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--plan", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--plan-only", action="store_true")
    arguments = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        sys.exit("bench/sending_bench.py needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    database_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    port = free_port()
    sink = multiprocessing.Process(target=sink_serve, args=(port,), daemon=True)
    sink.start()
    time.sleep(1)
    results: dict = {}
    worker = None
    try:
        from subscribers.models import Segment
        from tests.factories import issue_make
        from worker.message import Recipient, message_template_build
        from worker.models import Dispatch, DispatchStatus
        from worker.planning import dispatch_plan
        from worker.sending import issue_render
        from worker.services import dispatch_create

        issue = issue_make()

        # 1. Planning.
        subscribers_insert(arguments.plan, slug="plan")
        dispatch = Dispatch.objects.create(issue=issue)
        dispatch.segments.set(Segment.objects.filter(slug="plan"))
        from subscribers.selectors import segments_with_rules, subscribers_mailable

        started = time.perf_counter()
        subscribers_mailable(segments=segments_with_rules(["plan"])).count()
        results["plan_select_seconds"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        planned = dispatch_plan(dispatch=dispatch)
        results["plan_recipients"] = planned
        results["plan_seconds"] = round(time.perf_counter() - started, 3)
        dispatch.delete()
        if arguments.plan_only:
            print(json.dumps(results))
            return
        connection.cursor().execute("DELETE FROM subscribers_subscriber_segments")
        connection.cursor().execute("DELETE FROM subscribers_subscriber")
        connection.cursor().execute("DELETE FROM subscribers_segment")

        # 2a. Raw loop: one pre-built message, one persistent connection.
        template = message_template_build(issue_render(issue=issue))
        message = template.render(
            Recipient(
                email="raw@example.se",
                name="Rå Läsare",
                preferences_url=settings.SITE_URL + "/prenumeration/x/",
                unsubscribe_url=settings.SITE_URL + "/avregistrera/x/",
                message_id="raw@localhost",
            )
        )
        results["message_bytes"] = len(message)
        smtp = smtplib.SMTP("127.0.0.1", port)
        started = time.perf_counter()
        for n in range(arguments.recipients):
            smtp.sendmail(template.envelope_from, [f"raw{n}@example.se"], message)
        raw_seconds = time.perf_counter() - started
        smtp.quit()
        results["raw_per_second"] = round(arguments.recipients / raw_seconds)

        # 2b. The pipeline.
        subscribers_insert(arguments.recipients, slug="bench")
        env = {
            **os.environ,
            "DATABASE_URL": (
                f"postgres://{settings.DATABASES['default']['USER'] or 'postgres'}@"
                f"{settings.DATABASES['default']['HOST'] or '127.0.0.1'}:"
                f"{settings.DATABASES['default']['PORT'] or 5432}/{database_name}"
            ),
            "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        }
        env.pop("TEST_DATABASE_NAME", None)
        worker = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "worker",
                "worker",
                "--concurrency",
                str(arguments.concurrency),
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=BASE_DIR,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(4)  # let the worker come up before the clock starts
        peak_rss = worker_tree_rss(worker)
        started = time.perf_counter()
        dispatch = dispatch_create(issue=issue, segment_slugs=["bench"])
        while True:
            dispatch.refresh_from_db()
            peak_rss = max(peak_rss, worker_tree_rss(worker))
            if dispatch.status != DispatchStatus.SENDING:
                break
            time.sleep(0.2)
        pipeline_seconds = time.perf_counter() - started
        results["pipeline_status"] = dispatch.status
        results["pipeline_per_second"] = round(arguments.recipients / pipeline_seconds)
        results["ratio"] = round(raw_seconds / pipeline_seconds, 2)
        results["worker_peak_rss_mb"] = round(peak_rss / 2**20, 1)
        results["recipients"] = arguments.recipients
        results["concurrency"] = arguments.concurrency
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        os.kill(sink.pid, signal.SIGTERM)
        sink.join(5)
        connection.creation.destroy_test_db(database_name, verbosity=0)
    if arguments.json:
        print(json.dumps(results))
    else:
        for key, value in results.items():
            print(f"{key:>22}: {value}")


if __name__ == "__main__":
    main()
