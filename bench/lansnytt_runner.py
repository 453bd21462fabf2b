"""Everything the benchmark does with lansnytt itself, in one place.

The rest of the harness (sink, floor, peer, table) knows nothing about lansnytt's code; this
adapter builds the data, starts `celery -A worker worker` processes, runs
`manage.py send_issue ISSUE --segment bench --wait` and measures rendering and
personalisation. Where the pipeline is not there yet, the functions raise
PipelineUnavailable and the table says n/a.

Django must be set up (bench/run.py does it, with the bench database, Redis DB and sink in
the environment) before anything here is called.
"""

import hashlib
import importlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.content import bench_articles
from bench.rss import CpuMeter, PeakRss

REPO_DIR = Path(__file__).resolve().parent.parent
ISSUE_SLUG = "bench-1"
SEGMENT_SLUG = "bench"
EMAIL_DOMAIN = "bench.invalid"
# One process per worker, so that "1 worker" means one process doing the sending and its
# RSS is that process's RSS.
WORKER_POOL = "solo"


class PipelineUnavailable(Exception):
    """The part of lansnytt this measurement needs is not in this checkout (yet)."""


def _dispatch_models():
    try:
        models = importlib.import_module("worker.models")
    except ImportError as error:
        raise PipelineUnavailable("pipeline not available") from error
    if not hasattr(models, "Dispatch") or not hasattr(models, "Delivery"):
        raise PipelineUnavailable("pipeline not available")
    return models.Dispatch, models.Delivery


def _issue_render():
    try:
        rendering = importlib.import_module("newsletter.rendering")
    except ImportError as error:
        raise PipelineUnavailable("rendering not available") from error
    if not hasattr(rendering, "issue_render"):
        raise PipelineUnavailable("rendering not available")
    return rendering.issue_render


def pipeline_available() -> str | None:
    """None when the whole pipeline can be measured, else the reason it cannot."""
    try:
        _dispatch_models()
        _issue_render()
    except PipelineUnavailable as error:
        return str(error)
    return None


def _database_guard() -> None:
    from django.db import connection

    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        # Data building truncates tables; never let a mistyped URL point it at real data.
        raise RuntimeError(f"refusing to build bench data in database {name!r}")


def migrate() -> None:
    from django.core.management import call_command

    _database_guard()
    call_command("migrate", "--noinput", verbosity=0)


def _truncate(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE {} RESTART IDENTITY CASCADE".format(
                ", ".join(connection.ops.quote_name(table) for table in tables)
            )
        )


def _hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer padded keys of HMAC-SHA256 (block size 64)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(byte ^ 0x36 for byte in key), bytes(byte ^ 0x5C for byte in key)


def prepare_data(n: int) -> str:
    """N active email subscribers in segment `bench` and the issue `bench-1`; its slug.

    Subscribers are inserted by one INSERT … SELECT over generate_series, so 100,000 take
    about a second; the address hash is checked against subscribers.validation afterwards.
    """
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from newsletter.models import Article, Issue, IssueStatus
    from subscribers.models import Channel, Segment, Subscriber, SubscriberStatus
    from subscribers.validation import email_hash

    _database_guard()
    now = timezone.now()
    with transaction.atomic():
        _truncate(Subscriber._meta.db_table, Segment._meta.db_table, Issue._meta.db_table)
        segment = Segment.objects.create(slug=SEGMENT_SLUG, name="Bench")
        email_sql = f"'prenumerant' || g || '@{EMAIL_DOMAIN}'"
        inner_pad, outer_pad = _hmac_pads(settings.EMAIL_HASH_KEY.encode())
        expressions = {
            "email": email_sql,
            # HMAC-SHA256 (RFC 2104) from PostgreSQL's own sha256(), so no extension is needed:
            # H((K ^ opad) || H((K ^ ipad) || m)), with the padded keys made here.
            "email_hash": (
                "encode(sha256(%s::bytea || sha256(%s::bytea || "
                f"convert_to({email_sql}, 'UTF8'))), 'hex')"
            ),
            "name": "'Prenumerant ' || g",
        }
        expression_params = {"email_hash": [outer_pad, inner_pad]}
        values = {
            "status": SubscriberStatus.ACTIVE,
            "channel": Channel.EMAIL,
            "language": "sv",
            "created_at": now,
            "updated_at": now,
            "confirmed_at": now,
        }
        columns, selects, params = [], [], []
        for field in Subscriber._meta.concrete_fields:
            if field.primary_key:
                continue
            columns.append(connection.ops.quote_name(field.column))
            if field.name in expressions:
                selects.append(expressions[field.name])
                params.extend(expression_params.get(field.name, []))
                continue
            value = values.get(field.name, field.get_default())
            selects.append("%s")
            params.append(field.get_db_prep_save(value, connection))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Subscriber._meta.db_table} ({', '.join(columns)}) "
                f"SELECT {', '.join(selects)} FROM generate_series(1, %s) AS g",
                [*params, n],
            )
            through = Subscriber.segments.through._meta.db_table
            cursor.execute(
                f"INSERT INTO {through} (subscriber_id, segment_id) "
                f"SELECT id, %s FROM {Subscriber._meta.db_table}",
                [segment.pk],
            )
        sample = Subscriber.objects.order_by("pk").first()
        if sample is not None and sample.email_hash != email_hash(sample.email):
            raise RuntimeError("bench data: SQL email hash differs from email_hash()")

        issue = Issue.objects.create(
            title="Länsnytt bench-1",
            year=2026,
            number=1,
            slug=ISSUE_SLUG,
            status=IssueStatus.PUBLISHED,
            publication_date=now.date(),
            subject="Länsnytt bench-1: nytt från biblioteken i länet",
            preheader="Läsfrämjande, samverkan och nya e-medier i länets bibliotek.",
            intro="Ett nummer som bara finns för att mäta utskicket.",
            language="sv",
        )
        Article.objects.bulk_create(
            Article(
                issue=issue,
                position=position,
                heading=article.heading,
                slug=f"artikel-{position}",
                lead=article.lead,
                body="\n\n".join(article.paragraphs),
                cta_label="Läs mer",
                cta_url=article.url,
            )
            for position, article in enumerate(bench_articles(), start=1)
        )
        _issue_approve_as_is(issue)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return ISSUE_SLUG


def _issue_approve_as_is(issue) -> None:
    """The second pair of eyes (newsletter.approval) is on with DEBUG off, as in the bench:
    the bench's issue is approved as it is, the shortcut the tests take as well
    (tests/dispatching.issue_approved). A checkout from before approvals has nothing to do."""
    from django.utils import timezone

    from newsletter.models import Issue

    if not hasattr(Issue, "approved_version"):
        return
    from newsletter.rendering import issue_current_version

    Issue.objects.filter(pk=issue.pk).update(
        approved_version=issue_current_version(issue=issue), approved_at=timezone.now()
    )


def measure_render() -> dict:
    """Seconds for one render of the issue (the first, uncached) and the message size."""
    issue_render = _issue_render()
    from newsletter.models import Issue

    issue = Issue.objects.get(slug=ISSUE_SLUG)
    began = time.perf_counter()
    rendered = issue_render(issue=issue, language=issue.language)
    seconds = time.perf_counter() - began
    size = len(rendered.html.encode()) + len(rendered.text.encode())
    return {"seconds": seconds, "html_text_bytes": size}


def measure_personalise(n: int) -> dict:
    """Seconds per recipient to turn the once-per-issue rendering into that recipient's bytes.

    Uses the pipeline's own per-recipient path when it is there (worker.message: the
    prepared MessageTemplate filled with a Recipient's signed links); otherwise a stand-in
    that does what the contract describes (signed links substituted for the placeholders).
    The recipients are read before the clock starts; the signing is inside it.
    """
    issue_render = _issue_render()
    from newsletter.models import Issue
    from subscribers.models import Subscriber
    from subscribers.tokens import preferences_url, unsubscribe_url

    issue = Issue.objects.get(slug=ISSUE_SLUG)
    rendered = issue_render(issue=issue, language=issue.language)
    recipients = list(Subscriber.objects.order_by("pk").values_list("pk", "email", "name")[:n])
    try:
        from worker.message import Recipient, message_id_make, message_template_build
    except ImportError:
        personalise = _personalise_stand_in(rendered)
        method = "stand-in (placeholder substitution)"
    else:
        template = message_template_build(rendered)
        method = "worker.message MessageTemplate.render"

        def personalise(subscriber_id, email, name, preferences, unsubscribe):
            return template.render(
                Recipient(
                    email=email,
                    name=name,
                    preferences_url=preferences,
                    unsubscribe_url=unsubscribe,
                    message_id=message_id_make(delivery_id=subscriber_id),
                )
            )

    began = time.perf_counter()
    size = 0
    for subscriber_id, email, name in recipients:
        message = personalise(
            subscriber_id,
            email,
            name,
            preferences_url(subscriber_id=subscriber_id, email=email),
            unsubscribe_url(subscriber_id=subscriber_id, email=email),
        )
        size = len(message)
    seconds = (time.perf_counter() - began) / max(1, len(recipients))
    return {"seconds": seconds, "method": method, "message_bytes": size}


def _personalise_stand_in(rendered):
    from newsletter import personalisation

    def personalise(subscriber_id, email, name, preferences, unsubscribe):
        substitutions = {
            personalisation.NAME: name,
            personalisation.PREFERENCES_URL: preferences,
            personalisation.UNSUBSCRIBE_URL: unsubscribe,
        }
        parts = []
        for part in (rendered.html, rendered.text):
            for placeholder, value in substitutions.items():
                part = part.replace(placeholder, value)
            parts.append(part.encode())
        return b"".join(parts)

    return personalise


def measure_plan() -> dict:
    """Seconds for planning a dispatch of the issue to segment `bench` (rolled back after).

    Times the pipeline's planning step itself (worker.planning.dispatch_plan, the one
    INSERT … SELECT) inside a transaction that is rolled back, so nothing is left behind.
    """
    Dispatch, Delivery = _dispatch_models()
    try:
        from worker.planning import dispatch_plan
    except ImportError as error:
        raise PipelineUnavailable("no worker.planning.dispatch_plan") from error
    from django.db import transaction

    from newsletter.models import Issue
    from subscribers.models import Segment

    with transaction.atomic():
        dispatch = Dispatch.objects.create(issue=Issue.objects.get(slug=ISSUE_SLUG))
        dispatch.segments.set([Segment.objects.get(slug=SEGMENT_SLUG)])
        began = time.perf_counter()
        planned = dispatch_plan(dispatch=dispatch)
        seconds = time.perf_counter() - began
        transaction.set_rollback(True)
    return {"seconds": seconds, "deliveries": planned}


def _celery_app():
    from worker.celery import app

    return app


def _workers_start(count: int, env: dict) -> list[subprocess.Popen]:
    processes = []
    log_dir = REPO_DIR / "var" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    for index in range(1, count + 1):
        # The banner and any warnings go to a file, out of the table's way.
        log = open(log_dir / f"worker-{index}.log", "ab")
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "worker",
                    "worker",
                    "--pool",
                    WORKER_POOL,
                    "--concurrency",
                    "1",
                    "--loglevel",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-n",
                    f"bench{index}@%h",
                ],
                cwd=REPO_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        log.close()
    app = _celery_app()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=0.5) or []
        if len(replies) >= count:
            return processes
        if any(process.poll() is not None for process in processes):
            break
    _workers_stop(processes)
    raise RuntimeError("celery workers did not start")


def _workers_stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _django_startup_seconds(env: dict) -> float:
    """What starting `manage.py` costs, to take out of the polled plan time."""
    began = time.monotonic()
    subprocess.run(
        [sys.executable, "manage.py", "send_issue", "--help"],
        cwd=REPO_DIR,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - began


def run_pipeline(*, workers: int, n: int, sink, **settings_env: str) -> dict:
    """Send the bench issue to the bench segment with `workers` worker processes.

    Returns messages (counted by the sink), seconds (from the dispatch's creation to the last
    message accepted by the sink, workers already running), command_seconds (the whole
    `send_issue --wait` process), plan_seconds_polled, peak_rss_per_worker (MiB) and
    cpu_seconds: the workers' and the bench database's PostgreSQL backends' CPU while the
    dispatch ran. `settings_env` are extra settings for the workers (SEND_CONNECTIONS=...).
    """
    Dispatch, Delivery = _dispatch_models()
    _truncate(Delivery._meta.db_table, Dispatch._meta.db_table)
    env = {**os.environ, "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}", **settings_env}
    app = _celery_app()
    app.control.purge()
    startup = _django_startup_seconds(env)
    from newsletter.models import IssueRendering

    # Start from no stored rendering, so the workers' own renders can be counted afterwards.
    IssueRendering.objects.filter(issue__slug=ISSUE_SLUG).delete()
    processes = _workers_start(workers, env)
    try:
        sink.reset()
        planned_at: list[float] = []
        poller_backend: set[int] = set()
        poller_ready = threading.Event()
        stop_polling = threading.Event()

        def deliveries_poll(began: float) -> None:
            # Planning is one INSERT … SELECT: the deliveries appear all at once when it
            # commits, and so does the dispatch's planned_at, set in the same transaction.
            # Polling that one row from a second connection sees when. (Counting the
            # deliveries instead, every 10 ms, walked the 20,000 rows being inserted each
            # time, on the cores the planning ran on.)
            from django.db import connection

            try:
                with connection.cursor() as cursor:
                    # The harness's instrument, not the pipeline: its backend's CPU is left
                    # out of the pipeline's (CpuMeter), as the meter's own backend is.
                    cursor.execute("SELECT pg_backend_pid()")
                    poller_backend.add(cursor.fetchone()[0])
                poller_ready.set()
                while not stop_polling.is_set():
                    if Dispatch.objects.filter(planned_at__isnull=False).exists():
                        planned_at.append(time.monotonic() - began)
                        return
                    time.sleep(0.01)
            finally:
                connection.close()

        began = time.monotonic()
        command = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "send_issue",
                ISSUE_SLUG,
                "--segment",
                SEGMENT_SLUG,
                "--wait",
            ],
            cwd=REPO_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        poller = threading.Thread(target=deliveries_poll, args=(began,), daemon=True)
        poller.start()
        worker_pids = [process.pid for process in processes]
        from django.conf import settings

        cpu = CpuMeter(worker_pids, database_url=_database_url(settings))
        poller_ready.wait(timeout=10)
        cpu.excluded_backends = poller_backend
        with PeakRss(worker_pids) as rss, cpu:
            try:
                command.wait(timeout=max(300, n / 20))
            except subprocess.TimeoutExpired:
                command.kill()
                raise
        command_seconds = time.monotonic() - began
        stop_polling.set()
        poller.join()
        if command.returncode != 0:
            raise RuntimeError(f"send_issue exited with {command.returncode}")
        stats = sink.stats()
        # Like the floor's clock, this one leaves out starting a Python process: it runs from
        # the dispatch's creation (planning, enqueueing and worker pick-up included) to the
        # sink accepting the last message. Both are wall-clock times on this machine.
        created_at = Dispatch.objects.get().created_at.timestamp()
        seconds = stats["last"] - created_at
        # One MJML render per issue and language, however many recipients and workers.
        # A frozen send renders its version in every language at start (worker.services), so
        # the count that must stay 1 is the renders per language.
        from django.db.models import Count

        per_language = (
            IssueRendering.objects.filter(issue__slug=ISSUE_SLUG)
            .values("language")
            .annotate(renders=Count("id"))
        )
        renders = max((row["renders"] for row in per_language), default=0)
    finally:
        _workers_stop(processes)
    return {
        "messages": stats["messages"],
        "bytes": stats["bytes"],
        "seconds": seconds,
        "command_seconds": command_seconds,
        "renders": renders,
        # From the command's start to all deliveries visible, minus Django's start-up: an
        # upper bound that includes enqueueing and a worker picking the start task up.
        "plan_seconds_polled": (max(0.0, planned_at[0] - startup) if planned_at else None),
        "peak_rss_per_worker": rss.peaks_mib(),
        "cpu_seconds": cpu.seconds()["total"],
        "cpu_seconds_postgres": cpu.seconds()["postgres"],
    }


def _database_url(settings) -> str:
    database = settings.DATABASES["default"]
    return (
        f"postgresql://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )
