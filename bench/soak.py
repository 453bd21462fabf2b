"""The soak: a whole dispatch at scale through a sink that misbehaves like real relays.

    .venv/bin/python bench/soak.py [--n 100000] [--workers 2] [--rcpt-451 0.005]
                                   [--drop-every 2000] [--seed 14]

N subscribers, `--workers` `celery -A worker worker` processes and exactly one
`celery -A worker beat` (the production topology, default settings: leases, sweeps and
retry backoff as a user gets them), and `manage.py send_issue bench-1 --segment bench --wait`
as an operator would type it. The sink (bench/sink.py) answers a random 0.5 % of RCPTs with
451 and drops about one connection in 2,000 messages, half of the drops in the middle of the
message data and half after the data but before its 250.

At the end the sink's ledger (every accepted message by recipient and Message-ID) is checked
against the deliveries: every recipient got the issue, none got it under a second
Message-ID, no one outside the dispatch got anything, and the only repeats are messages whose
250 the sink swallowed (SMTP cannot avoid those; each such drop allows at most one). Retries
are counted from the deliveries' attempts. Prints a table, writes
bench/results/soak-<timestamp>.json and bench/results/soak-latest.json, and exits 1 when the
check fails.

It needs PostgreSQL and Redis on 127.0.0.1 and creates its own database
(`lansnytt_bench_soak`, truncated on every run); override with --database-url and
--redis-url (default Redis DB 9, so it never meets `make bench` on DB 8).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from bench.databases import database_ensure  # noqa: E402
from bench.run import django_setup, say  # noqa: E402
from bench.sink import SinkProcess  # noqa: E402


def options_parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="recipients (100000)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--rcpt-451", type=float, default=0.005, help="share of RCPTs given 451")
    parser.add_argument(
        "--drop-every", type=int, default=2000, help="drop a connection in ~1 message in N"
    )
    parser.add_argument("--seed", type=int, default=14, help="the sink's random seed")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "SOAK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lansnytt_bench_soak"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("SOAK_REDIS_URL", "redis://127.0.0.1:6379/9")
    )
    parser.add_argument("--results-dir", type=Path, default=REPO_DIR / "bench" / "results")
    options = parser.parse_args(argv)
    if options.n < 1 or options.workers < 1:
        parser.error("--n and --workers must be positive")
    return options


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes and their children (a prefork pool's too)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            process = psutil.Process(pid)
            for member in [process, *process.children(recursive=True)]:
                times = member.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
        except psutil.NoSuchProcess:
            continue
    return total


def _beat_start(env: dict, log_dir: Path) -> subprocess.Popen:
    schedule = log_dir / "soak-beat-schedule"
    for leftover in log_dir.glob("soak-beat-schedule*"):
        leftover.unlink()
    log = open(log_dir / "soak-beat.log", "ab")  # noqa: SIM115 - the child keeps it
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker",
            "beat",
            "--loglevel",
            "WARNING",
            "--schedule",
            str(schedule),
        ],
        cwd=REPO_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def ledger_check(ledger: list, deliveries: dict[str, str], drops_after_data: int) -> dict:
    """Every planned recipient exactly once, by recipient and Message-ID."""
    by_recipient: dict[str, dict[str, int]] = {}
    for recipient, message_id, count in ledger:
        by_recipient.setdefault(recipient, {})[message_id.strip("<>")] = count
    missing = [email for email in deliveries if email not in by_recipient]
    strangers = [email for email in by_recipient if email not in deliveries]
    # A repeat is the same message (same Message-ID) again; another Message-ID for the same
    # person would be a second delivery row, which the design forbids outright.
    wrong_id = [
        email
        for email, ids in by_recipient.items()
        if email in deliveries and set(ids) != {deliveries[email]}
    ]
    duplicates = sum(count - 1 for ids in by_recipient.values() for count in ids.values())
    ok = not missing and not strangers and not wrong_id and duplicates <= drops_after_data
    return {
        "ok": ok,
        "recipients_received": len(by_recipient),
        "missing": len(missing),
        "missing_sample": missing[:5],
        "outside_dispatch": len(strangers),
        "wrong_message_id": len(wrong_id),
        "wrong_message_id_sample": wrong_id[:5],
        "duplicates": duplicates,
        "duplicate_bound": drops_after_data,
    }


def soak_run(options: argparse.Namespace) -> dict:
    log_dir = REPO_DIR / "var" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    ledger_file = log_dir / "soak-ledger.json"
    ledger_file.unlink(missing_ok=True)
    database_ensure(options.database_url)
    sink = SinkProcess(
        extra=(
            "--rcpt-451",
            str(options.rcpt_451),
            "--drop-every",
            str(options.drop_every),
            "--seed",
            str(options.seed),
            "--ledger-file",
            str(ledger_file),
        )
    )
    processes: list[subprocess.Popen] = []
    try:
        django_setup(options, sink)
        from bench import lansnytt_runner as runner

        say(f"soak: migrating and building {options.n} subscribers")
        runner.migrate()
        runner.prepare_data(options.n)
        from django.db.models import Count, F, Max, Sum

        from worker.celery import app
        from worker.models import Delivery, Dispatch

        runner._truncate(Delivery._meta.db_table, Dispatch._meta.db_table)
        app.control.purge()
        env = {**os.environ}
        processes = runner._workers_start(options.workers, env)
        beat = _beat_start(env, log_dir)
        processes.append(beat)
        sink.reset()
        sink_cpu_before = sink.cpu_seconds()
        say(f"soak: sending to {options.n} with {options.workers} workers and one beat")
        began = time.monotonic()
        with open(log_dir / "soak-send_issue.log", "w") as send_log:
            command = subprocess.run(
                [
                    sys.executable,
                    "manage.py",
                    "send_issue",
                    runner.ISSUE_SLUG,
                    "--segment",
                    runner.SEGMENT_SLUG,
                    "--wait",
                ],
                cwd=REPO_DIR,
                env=env,
                stdout=send_log,
                stderr=subprocess.STDOUT,
                timeout=max(900, options.n / 10),
            )
        seconds = time.monotonic() - began
        worker_cpu = _cpu_seconds([process.pid for process in processes])
        sink_cpu = sink.cpu_seconds() - sink_cpu_before
        stats = sink.stats()
        os.kill(sink.process.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 60
        while not ledger_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        ledger = json.loads(ledger_file.read_text())
        dispatch = Dispatch.objects.get()
        deliveries = dict(
            Delivery.objects.filter(dispatch=dispatch).values_list("email", "message_id")
        )
        deliveries = {
            email.lower(): message_id.strip("<>") for email, message_id in deliveries.items()
        }
        statuses = dict(
            Delivery.objects.filter(dispatch=dispatch)
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        retries = Delivery.objects.filter(dispatch=dispatch, attempts__gt=1).aggregate(
            extra=Sum(F("attempts") - 1), rows=Count("id")
        )
        check = ledger_check(ledger, deliveries, stats["drops_after_data"])
        # When the rows that needed no retry were all out: the tail after it is the retry
        # backoff (DELIVERY_RETRY_BASE_SECONDS, 60 s, doubling), not sending speed.
        first_pass = Delivery.objects.filter(dispatch=dispatch, attempts=1).aggregate(
            last=Max("sent_at")
        )["last"]
        first_pass_seconds = (
            (first_pass - dispatch.created_at).total_seconds() if first_pass else None
        )
        send_seconds = (stats["last"] - dispatch.created_at.timestamp()) if stats["last"] else None
    finally:
        runner_stop = processes
        for process in runner_stop:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in runner_stop:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        sink.stop()
    return {
        "recipients": options.n,
        "workers": options.workers,
        "faults": {
            "rcpt_451_ratio": options.rcpt_451,
            "drop_every": options.drop_every,
            "seed": options.seed,
        },
        "dispatch_status": dispatch.status,
        "send_issue_exit": command.returncode,
        "seconds": round(seconds, 1),
        "seconds_to_last_message": round(send_seconds, 1) if send_seconds else None,
        "messages_per_second": round(stats["messages"] / seconds, 1) if seconds else None,
        "first_pass_seconds": round(first_pass_seconds, 1) if first_pass_seconds else None,
        "first_pass_messages_per_second": (
            round((options.n - (retries["rows"] or 0)) / first_pass_seconds, 1)
            if first_pass_seconds
            else None
        ),
        "sink": stats,
        "deliveries_by_status": statuses,
        "retries": retries["extra"] or 0,
        "rows_retried": retries["rows"],
        "cpu_seconds": {"workers_and_beat": round(worker_cpu, 1), "sink": round(sink_cpu, 1)},
        "check": check,
    }


def table_format(result: dict) -> str:
    sink, check = result["sink"], result["check"]
    drops = sink["drops_in_data"] + sink["drops_after_data"]
    rows = [
        ("recipients", f"{result['recipients']:,}"),
        ("workers", f"{result['workers']} + 1 beat"),
        ("time (send_issue --wait)", f"{result['seconds']:.1f} s"),
        ("msg/s (whole run)", f"{result['messages_per_second']:,}"),
        (
            "rows needing no retry: done after / msg/s",
            f"{result['first_pass_seconds']} s / {result['first_pass_messages_per_second']:,}",
        ),
        ("451 answers (RCPT)", f"{sink['rcpt_451']:,}"),
        ("retries (extra attempts / rows)", f"{result['retries']:,} / {result['rows_retried']:,}"),
        (
            "drops (in data / after data)",
            f"{drops} ({sink['drops_in_data']} / {sink['drops_after_data']})",
        ),
        ("delivered (distinct recipients)", f"{check['recipients_received']:,}"),
        ("missing", f"{check['missing']}"),
        ("duplicates (bound)", f"{check['duplicates']} (≤ {check['duplicate_bound']})"),
        (
            "wrong Message-ID / outside dispatch",
            f"{check['wrong_message_id']} / {check['outside_dispatch']}",
        ),
        (
            "deliveries by status",
            ", ".join(f"{k} {v:,}" for k, v in sorted(result["deliveries_by_status"].items())),
        ),
        (
            "CPU seconds (workers+beat / sink)",
            f"{result['cpu_seconds']['workers_and_beat']} / {result['cpu_seconds']['sink']}",
        ),
        (
            "dispatch / send_issue exit",
            f"{result['dispatch_status']} / {result['send_issue_exit']}",
        ),
        ("exactly once", "yes" if check["ok"] else "NO"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"| {name.ljust(width)} | {value} |" for name, value in rows)


def main(argv: list[str] | None = None) -> int:
    options = options_parse(argv)
    started = datetime.now(UTC)
    result = soak_run(options)
    result["started"] = started.isoformat(timespec="seconds")
    result["load_average"] = os.getloadavg()
    options.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    for name in (f"soak-{stamp}.json", "soak-latest.json"):
        (options.results_dir / name).write_text(json.dumps(result, indent=2) + "\n")
    print(table_format(result))
    return 0 if result["check"]["ok"] and result["dispatch_status"] == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
