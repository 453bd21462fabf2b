"""The benchmark: floor, lansnytt and django-newsletter, side by side in one run.

    .venv/bin/python bench/run.py [--n 20000] [--sizes 10000,100000] [--skip-peer] [--quick]
                                  [--relay-ms 20] [--relay-n 5000] [--skip-relay]
                                  [--cpu-pairs 3] [--two-worker-pairs 3]

Two loopback SMTP sinks (bench/sink.py, their own processes) receive everything: one answers
at once, one waits --relay-ms before each reply, like a relay that far away. In order: at
0 ms the smtplib floor with 1 and 2 processes, the pipelined floor (1 process × 1 and × C
connections, 2 processes × 1), lansnytt with 1 and 2 workers at N and at each of the sizes
(plan time, peak RSS per worker), the peer; then at --relay-ms the floors and lansnytt
again. C is the pipeline's SEND_CONNECTIONS. Every row has its CPU seconds per 1,000
messages (all processes of the contender, the sink excluded); --cpu-pairs times, the
pipelined floor (1 × 1) and lansnytt (1 worker) run once more right after each other, and the
median of those pairs' CPU ratios is the CPU target's verdict (and of their speed ratios the
one-worker speed target's); --two-worker-pairs times, the pipelined floor (2 × 1) and
lansnytt (2 workers) likewise, for the two-worker speed target. Prints the table and writes it
as JSON to bench/results/<timestamp>.json and bench/results/latest.json.
"""

import argparse
import json
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from bench.content import recipient_values  # noqa: E402
from bench.databases import database_ensure  # noqa: E402
from bench.floor import floor_run  # noqa: E402
from bench.sink import SinkProcess  # noqa: E402

TARGET_FLOOR_RATIO = 0.70
TARGET_RELAY_RATIO = 0.50  # lansnytt, 1 worker, against the pipelined floor with 32 connections
TARGET_CPU_RATIO = 2.0  # CPU per message against the pipelined floor's
RELAY_FLOOR_CONNECTIONS = 32
TARGET_PEER_RATIO = 5.0
TARGET_PLAN_SECONDS = 2.0
TARGET_RSS_GROWTH = 0.10
# The CPU ratio's verdict is the median of this many back-to-back pairs: the rows above are
# minutes apart, and on a shared machine the floor's own CPU per message moved by a tenth
# between rounds of bench/side_by_side.py (76 to 86 µs in one run), as much as a change
# under test; a pair's two rows run seconds apart under the same load.
CPU_PAIRS = 3
# For the same reason the two-worker speed target is judged by the median of this many
# back-to-back pairs of the pipelined floor (2 processes × 1 connection) and lansnytt (2
# workers); the one-worker speed target by the CPU pairs' speeds. A 2-CPU machine is full in
# both rows of a two-worker pair, and there its ratio is mostly a ratio of the whole
# machine's CPU per message, which a neighbour's load moves from one minute to the next.
TWO_WORKER_PAIRS = 3

_STARTED = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - _STARTED:6.1f}s] {text}", file=sys.stderr, flush=True)


def options_parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark lansnytt against the smtplib floor and django-newsletter."
    )
    parser.add_argument(
        "--n", type=int, default=20_000, help="recipients for the throughput rows (20000)"
    )
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="comma-separated recipient counts for the plan-time and memory rows",
    )
    parser.add_argument("--skip-peer", action="store_true", help="leave out django-newsletter")
    parser.add_argument(
        "--relay-ms", type=float, default=20.0, help="reply delay of the relay sink, ms (20)"
    )
    parser.add_argument(
        "--relay-n",
        type=int,
        default=5_000,
        help="messages for the many-connection rows at --relay-ms (5000); the one-connection "
        "rows send a tenth of it",
    )
    parser.add_argument("--skip-relay", action="store_true", help="leave out the relay rows")
    parser.add_argument(
        "--cpu-pairs",
        type=int,
        default=CPU_PAIRS,
        help=f"back-to-back pairs of the pipelined floor and lansnytt (1 worker) at N for the "
        f"CPU ratio, whose median is the verdict ({CPU_PAIRS}; 0: none)",
    )
    parser.add_argument(
        "--two-worker-pairs",
        type=int,
        default=TWO_WORKER_PAIRS,
        help="back-to-back pairs of the pipelined floor (2 × 1 conn) and lansnytt (2 workers) "
        f"at N, whose median speed ratio is the two-worker verdict ({TWO_WORKER_PAIRS}; 0: none)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a fast check of the harness: N=2000, sizes 1000,5000"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lansnytt_bench"
        ),
    )
    parser.add_argument(
        "--peer-database-url",
        default=os.environ.get(
            "BENCH_PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lansnytt_bench_peer"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
    )
    parser.add_argument("--results-dir", type=Path, default=REPO_DIR / "bench" / "results")
    options = parser.parse_args(argv)
    if options.quick:
        options.n = 2_000
        options.sizes = "1000,5000"
        options.relay_n = 1_000
    try:
        options.sizes = [int(size) for size in options.sizes.split(",") if size.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers, not {options.sizes!r}")
    if options.n < 1 or any(size < 1 for size in options.sizes):
        parser.error("--n and --sizes must be positive")
    return options


def sink_measure(sink: SinkProcess, expected: int, run) -> dict:
    """Run one contender against a freshly reset sink; rate from the sink's message count."""
    sink.reset()
    cpu_before = sink.cpu_seconds()
    outcome = run()
    cpu = sink.cpu_seconds() - cpu_before
    stats = sink.stats()
    seconds = outcome["seconds"]
    row = {
        **outcome,
        "messages": stats["messages"],
        "expected_messages": expected,
        "seconds": round(seconds, 3),
        "messages_per_second": round(stats["messages"] / seconds, 1) if seconds else None,
        "bytes_per_message": round(stats["bytes"] / stats["messages"]) if stats["messages"] else 0,
        "connections": stats["connections"],
        # Share of one core the sink used: near 100 % would mean the sink is the limit.
        "sink_cpu_share": round(cpu / seconds, 3) if seconds else None,
    }
    if outcome.get("cpu_seconds") is not None and stats["messages"]:
        row["cpu_per_1000"] = round(outcome["cpu_seconds"] / stats["messages"] * 1000, 3)
    if stats["messages"] != expected:
        row["error"] = f"sink counted {stats['messages']} messages, expected {expected}"
    return row


def floor_measure(options, sink: SinkProcess, results: dict, *, prefix: str = "") -> None:
    """The smtplib and the pipelined floors against `sink`; at a relay's distance the
    one-connection rows send a tenth of --relay-n (they are slow by design)."""
    connections = results["pipeline_connections"]
    if prefix:
        few, many = max(50, options.relay_n // 10), options.relay_n
        plan = [
            ("floor_1", 1, 0, few),
            ("pipelined_1", 1, 1, few),
            ("pipelined_c", 1, connections, many),
            (f"pipelined_{RELAY_FLOOR_CONNECTIONS}", 1, RELAY_FLOOR_CONNECTIONS, many),
        ]
    else:
        plan = [
            ("floor_1", 1, 0, options.n),
            ("floor_2", 2, 0, options.n),
            ("pipelined_1", 1, 1, options.n),
            ("pipelined_2", 2, 1, options.n),
            ("pipelined_c", 1, connections, options.n),
        ]
    for key, processes, pipelined, n in plan:
        how = f"pipelined over {pipelined} connection(s)" if pipelined else "smtplib"
        say(f"{prefix}{key}: {n} messages, {processes} process(es), {how}")
        recipients = recipient_values(n)
        results["rows"][prefix + key] = sink_measure(
            sink,
            n,
            lambda processes=processes, pipelined=pipelined, recipients=recipients: floor_run(
                host="127.0.0.1",
                port=sink.port,
                recipients=recipients,
                processes=processes,
                pipelined_connections=pipelined,
            ),
        )


def unavailable(reason: str) -> dict:
    return {"unavailable": reason}


def failed(step: str) -> dict:
    say(f"{step} failed:\n{traceback.format_exc()}")
    return {"unavailable": f"failed: {sys.exc_info()[1]}"}


def django_setup(options: argparse.Namespace, sink: SinkProcess) -> None:
    # Production-like settings: DEBUG off (no query log, no debug overhead), real broker and
    # SMTP. The secret is only ever used for this throwaway database.
    os.environ.update(
        {
            "DATABASE_URL": options.database_url,
            "REDIS_URL": options.redis_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-secret-key-for-a-throwaway-database-0123456789",
            "EMAIL_HASH_KEY": "bench-only-address-hash-key-of-its-own-0123456789",
            "SITE_URL": "https://lansnytt.example.org",
            "CACHE_KEY_PREFIX": "lansnytt-bench",
            "DJANGO_SETTINGS_MODULE": "lansnytt.settings",
        }
    )
    os.chdir(REPO_DIR)
    import django

    django.setup()


def lansnytt_measure(options, sink: SinkProcess, results: dict, relay_sink=None) -> None:
    from bench import lansnytt_runner as runner

    rows = results["rows"]
    say(f"lansnytt: migrating {options.database_url.rsplit('/', 1)[-1]}")
    runner.migrate()
    say(f"lansnytt: building {options.n} subscribers and issue bench-1")
    began = time.monotonic()
    runner.prepare_data(options.n)
    results["lansnytt_data_seconds"] = round(time.monotonic() - began, 2)

    try:
        results["render"] = runner.measure_render()
    except runner.PipelineUnavailable as error:
        results["render"] = unavailable(str(error))
    except Exception:
        results["render"] = failed("render")
    try:
        results["personalise"] = runner.measure_personalise(min(options.n, 2000))
    except runner.PipelineUnavailable as error:
        results["personalise"] = unavailable(str(error))
    except Exception:
        results["personalise"] = failed("personalisation")

    reason = runner.pipeline_available()
    for workers in (1, 2):
        key = f"lansnytt_{workers}"
        if reason:
            rows[key] = unavailable(reason)
            continue
        say(f"lansnytt: sending to {options.n} with {workers} worker(s)")
        try:
            rows[key] = sink_measure(
                sink,
                options.n,
                lambda workers=workers: runner.run_pipeline(
                    workers=workers, n=options.n, sink=sink
                ),
            )
        except Exception:
            rows[key] = failed(key)

    if not reason and options.cpu_pairs > 0:
        results["cpu_pairs"] = pairs_measure(options, sink, workers=1, count=options.cpu_pairs)
    if not reason and options.two_worker_pairs > 0:
        results["two_worker_pairs"] = pairs_measure(
            options, sink, workers=2, count=options.two_worker_pairs
        )

    if relay_sink is not None:
        runner.prepare_data(options.relay_n)
        for workers in (1, 2):
            key = f"relay_lansnytt_{workers}"
            if reason:
                rows[key] = unavailable(reason)
                continue
            say(f"relay: lansnytt sending to {options.relay_n} with {workers} worker(s)")
            try:
                rows[key] = sink_measure(
                    relay_sink,
                    options.relay_n,
                    lambda workers=workers: runner.run_pipeline(
                        workers=workers, n=options.relay_n, sink=relay_sink
                    ),
                )
            except Exception:
                rows[key] = failed(key)

    results["sizes"] = {}
    for size in options.sizes:
        if reason:
            results["sizes"][str(size)] = unavailable(reason)
            continue
        say(f"lansnytt: {size} subscribers, 2 workers (plan time, memory)")
        try:
            runner.prepare_data(size)
            plan = runner.measure_plan()
            row = sink_measure(
                sink, size, lambda size=size: runner.run_pipeline(workers=2, n=size, sink=sink)
            )
            results["sizes"][str(size)] = {**row, "plan_seconds": round(plan["seconds"], 3)}
        except Exception:
            results["sizes"][str(size)] = failed(f"size {size}")


def pipelined_floor_measure(sink: SinkProcess, recipients: list, *, processes: int = 1) -> dict:
    """The pipelined floor, `processes` × 1 connection, to `recipients` (a row)."""
    return sink_measure(
        sink,
        len(recipients),
        lambda: floor_run(
            host="127.0.0.1",
            port=sink.port,
            recipients=recipients,
            processes=processes,
            pipelined_connections=1,
        ),
    )


def pairs_measure(options, sink: SinkProcess, *, workers: int, count: int) -> list[dict]:
    """The pipelined floor (`workers` processes × 1 connection) and lansnytt (`workers`
    workers) at N, one right after the other, `count` times: each pair's CPU and speed ratio,
    for the medians' verdicts. The one-worker pairs are --cpu-pairs (their keys name the
    rows, as before)."""
    from bench import lansnytt_runner as runner

    recipients = recipient_values(options.n)
    pairs = []
    for number in range(1, count + 1):
        say(
            f"pair {number} of {count}: pipelined floor ({workers} × 1 conn), "
            f"then lansnytt ({workers} worker{'s' if workers > 1 else ''})"
        )
        try:
            floor = pipelined_floor_measure(sink, recipients, processes=workers)
            lansnytt = sink_measure(
                sink,
                options.n,
                lambda: runner.run_pipeline(workers=workers, n=options.n, sink=sink),
            )
        except Exception:
            pairs.append(failed(f"pair {number} with {workers} worker(s)"))
            continue
        pairs.append(
            {
                f"pipelined_{workers}_cpu_per_1000": floor.get("cpu_per_1000"),
                f"lansnytt_{workers}_cpu_per_1000": lansnytt.get("cpu_per_1000"),
                f"pipelined_{workers}_messages_per_second": floor.get("messages_per_second"),
                f"lansnytt_{workers}_messages_per_second": lansnytt.get("messages_per_second"),
                "ratio": _cpu_ratio(lansnytt, floor),
                "speed_ratio": _ratio(lansnytt, floor),
                "errors": [row["error"] for row in (floor, lansnytt) if "error" in row],
            }
        )
    return pairs


def peer_measure(options, sink: SinkProcess, results: dict) -> None:
    from bench.peer import Peer

    peer = Peer(var_dir=REPO_DIR / "var" / "bench", database_url=options.peer_database_url)
    say("peer: installing django-newsletter into var/bench/peer-venv (once)")
    peer.install()
    peer.generate()
    database_ensure(options.peer_database_url)
    say(f"peer: building {options.n} subscriptions and a prepared submission")
    peer.prepare(options.n)
    say(f"peer: submit_newsletter to {options.n}")
    results["rows"]["peer"] = sink_measure(sink, options.n, lambda: peer.run(sink_port=sink.port))


def _ratio(numerator: dict, denominator: dict) -> float | None:
    a = numerator.get("messages_per_second")
    b = denominator.get("messages_per_second")
    return round(a / b, 3) if a and b else None


def _cpu_ratio(numerator: dict, denominator: dict) -> float | None:
    a = numerator.get("cpu_per_1000")
    b = denominator.get("cpu_per_1000")
    return round(a / b, 3) if a and b else None


def _pairs_median(pairs: list[dict], key: str) -> float | None:
    """The median of the pairs' `key` ratio, over the pairs that ran without an error."""
    return _median(
        [pair[key] for pair in pairs if pair.get(key) is not None and not pair.get("errors")]
    )


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return round((ordered[middle - 1] + ordered[middle]) / 2, 3)


def summary_compute(results: dict) -> None:
    rows = results["rows"]
    empty: dict = {}
    results["ratios"] = {
        "lansnytt_1_over_pipelined_1": _ratio(
            rows.get("lansnytt_1", empty), rows.get("pipelined_1", empty)
        ),
        "lansnytt_2_over_pipelined_2": _ratio(
            rows.get("lansnytt_2", empty), rows.get("pipelined_2", empty)
        ),
        "relay_lansnytt_1_over_relay_pipelined_32": _ratio(
            rows.get("relay_lansnytt_1", empty),
            rows.get(f"relay_pipelined_{RELAY_FLOOR_CONNECTIONS}", empty),
        ),
        "relay_lansnytt_1_over_relay_pipelined_c": _ratio(
            rows.get("relay_lansnytt_1", empty), rows.get("relay_pipelined_c", empty)
        ),
        "cpu_lansnytt_1_over_pipelined_1": _cpu_ratio(
            rows.get("lansnytt_1", empty), rows.get("pipelined_1", empty)
        ),
        "cpu_relay_lansnytt_1_over_relay_pipelined_c": _cpu_ratio(
            rows.get("relay_lansnytt_1", empty), rows.get("relay_pipelined_c", empty)
        ),
        "lansnytt_1_over_floor_1": _ratio(rows.get("lansnytt_1", empty), rows["floor_1"]),
        "lansnytt_2_over_floor_2": _ratio(rows.get("lansnytt_2", empty), rows["floor_2"]),
        "lansnytt_2_over_peer": _ratio(rows.get("lansnytt_2", empty), rows.get("peer", empty)),
        "lansnytt_1_over_peer": _ratio(rows.get("lansnytt_1", empty), rows.get("peer", empty)),
        "cpu_lansnytt_1_over_pipelined_1_pairs_median": _pairs_median(
            results.get("cpu_pairs", []), "ratio"
        ),
        "lansnytt_1_over_pipelined_1_pairs_median": _pairs_median(
            results.get("cpu_pairs", []), "speed_ratio"
        ),
        "lansnytt_2_over_pipelined_2_pairs_median": _pairs_median(
            results.get("two_worker_pairs", []), "speed_ratio"
        ),
        "cpu_lansnytt_2_over_pipelined_2_pairs_median": _pairs_median(
            results.get("two_worker_pairs", []), "ratio"
        ),
    }
    sizes = results.get("sizes", {})
    measured = [sizes[key] for key in sorted(sizes, key=int) if "peak_rss_per_worker" in sizes[key]]
    if len(measured) >= 2:
        small = max(measured[0]["peak_rss_per_worker"])
        large = max(measured[-1]["peak_rss_per_worker"])
        results["rss_growth_smallest_to_largest"] = round(large / small - 1, 3) if small else None


def _rate(row: dict) -> str:
    if "unavailable" in row:
        return f"n/a ({row['unavailable']})"
    text = f"{row['messages_per_second']:>9.1f}"
    return text + (f"  !! {row['error']}" if "error" in row else "")


def _verdict(value, target, *, at_least: bool) -> str:
    if value is None:
        return "n/a"
    met = value >= target if at_least else value <= target
    return (
        f"{value:.2f} ({'met' if met else 'NOT met'}; target {'≥' if at_least else '≤'} {target})"
    )


def _pairs_text(pairs: list[dict], *, workers: int = 1, speed: bool = False) -> str:
    """Each pair's lansnytt and floor figure and their ratio: CPU per 1,000 messages, or
    with `speed` messages per second."""
    if not pairs:
        return "none run"
    key, unit = ("speed_ratio", "messages_per_second") if speed else ("ratio", "cpu_per_1000")
    return ", ".join(
        "failed"
        if pair.get(key) is None or pair.get("errors")
        else f"{pair[f'lansnytt_{workers}_{unit}']:g}/{pair[f'pipelined_{workers}_{unit}']:g}"
        f" = {pair[key]:.2f}"
        for pair in pairs
    )


def table_format(results: dict) -> str:
    rows = results["rows"]
    lines = [
        f"lansnytt benchmark · {results['started']} · {results['machine']['cpus']} CPUs · "
        f"N={results['n']} · load {results['machine']['load_average_start'][0]:.1f} → "
        f"{results['machine']['load_average_end'][0]:.1f}",
        "",
        f"{'contender':<44}{'msg/s':>10}{'seconds':>10}{'msgs':>9}{'KB/msg':>8}"
        f"{'sink CPU':>10}{'CPU s/1k':>10}  peak RSS (MiB)",
    ]
    connections = results.get("pipeline_connections", "C")
    relay = f"@{results.get('relay_ms', 0):g} ms: "
    labels = {
        "floor_1": "floor, 1 process (smtplib)",
        "floor_2": "floor, 2 processes (smtplib)",
        "pipelined_1": "pipelined floor, 1 process × 1 conn",
        "pipelined_2": "pipelined floor, 2 processes × 1 conn",
        "pipelined_c": f"pipelined floor, 1 process × {connections} conns",
        "lansnytt_1": "lansnytt, 1 worker",
        "lansnytt_2": "lansnytt, 2 workers",
        "peer": "django-newsletter (peer)",
        "relay_floor_1": relay + "floor, smtplib",
        "relay_pipelined_1": relay + "pipelined floor, 1 conn",
        "relay_pipelined_c": relay + f"pipelined floor, {connections} conns",
        f"relay_pipelined_{RELAY_FLOOR_CONNECTIONS}": relay
        + f"pipelined floor, {RELAY_FLOOR_CONNECTIONS} conns",
        "relay_lansnytt_1": relay + "lansnytt, 1 worker",
        "relay_lansnytt_2": relay + "lansnytt, 2 workers",
    }
    for key, label in labels.items():
        row = rows.get(key)
        if row is None:
            lines.append(f"{label:<44}{'skipped':>10}")
            continue
        if "unavailable" in row:
            lines.append(f"{label:<44}{_rate(row)}")
            continue
        rss = ", ".join(f"{value:.0f}" for value in row.get("peak_rss_per_worker", []))
        rss = rss or ", ".join(f"{value:.0f}" for value in row.get("peak_rss_mib", []))
        cpu = row.get("cpu_per_1000")
        lines.append(
            f"{label:<44}{_rate(row)}{row['seconds']:>10.1f}{row['messages']:>9}"
            f"{row['bytes_per_message'] / 1000:>8.1f}{row['sink_cpu_share'] * 100:>9.0f}%"
            f"{cpu if cpu is not None else 'n/a':>10}  {rss}"
        )
    ratios = results["ratios"]
    lines += [
        "",
        "lansnytt (1 worker) / pipelined floor, 1 conn:      "
        + _verdict(ratios["lansnytt_1_over_pipelined_1"], TARGET_FLOOR_RATIO, at_least=True),
        "lansnytt (2 workers) / pipelined floor, 2 × 1 conn: "
        + _verdict(ratios["lansnytt_2_over_pipelined_2"], TARGET_FLOOR_RATIO, at_least=True),
        "lansnytt (1 worker) / pipelined floor, 1 conn, median of back-to-back pairs "
        f"({_pairs_text(results.get('cpu_pairs', []), speed=True)} msg/s): "
        + _verdict(
            ratios["lansnytt_1_over_pipelined_1_pairs_median"], TARGET_FLOOR_RATIO, at_least=True
        ),
        "lansnytt (2 workers) / pipelined floor, 2 × 1 conn, median of back-to-back pairs "
        f"({_pairs_text(results.get('two_worker_pairs', []), workers=2, speed=True)} msg/s): "
        + _verdict(
            ratios["lansnytt_2_over_pipelined_2_pairs_median"], TARGET_FLOOR_RATIO, at_least=True
        ),
        f"{relay}lansnytt (1 worker) / pipelined floor, {RELAY_FLOOR_CONNECTIONS} conns: "
        + _verdict(
            ratios["relay_lansnytt_1_over_relay_pipelined_32"], TARGET_RELAY_RATIO, at_least=True
        ),
        f"{relay}lansnytt (1 worker) / pipelined floor, {connections} conns: "
        + _verdict(ratios["relay_lansnytt_1_over_relay_pipelined_c"], 0.5, at_least=True),
        "CPU per message, lansnytt (1 worker) / pipelined floor, 1 conn, the rows above: "
        + _verdict(ratios["cpu_lansnytt_1_over_pipelined_1"], TARGET_CPU_RATIO, at_least=False),
        "CPU per message, the same, median of back-to-back pairs "
        f"({_pairs_text(results.get('cpu_pairs', []))}): "
        + _verdict(
            ratios["cpu_lansnytt_1_over_pipelined_1_pairs_median"],
            TARGET_CPU_RATIO,
            at_least=False,
        ),
        "CPU per message, lansnytt (2 workers) / pipelined floor, 2 × 1 conn, median of "
        f"back-to-back pairs ({_pairs_text(results.get('two_worker_pairs', []), workers=2)}): "
        + _verdict(
            ratios["cpu_lansnytt_2_over_pipelined_2_pairs_median"],
            TARGET_CPU_RATIO,
            at_least=False,
        )
        + " (informational)",
        f"CPU per message, {relay}lansnytt (1 worker) / pipelined floor, {connections} conns: "
        + _verdict(
            ratios["cpu_relay_lansnytt_1_over_relay_pipelined_c"], TARGET_CPU_RATIO, at_least=False
        ),
        "lansnytt / floor, 1 process:   "
        + _verdict(ratios["lansnytt_1_over_floor_1"], TARGET_FLOOR_RATIO, at_least=True),
        "lansnytt / floor, 2 processes: "
        + _verdict(ratios["lansnytt_2_over_floor_2"], TARGET_FLOOR_RATIO, at_least=True),
        "lansnytt (2 workers) / peer:   "
        + _verdict(ratios["lansnytt_2_over_peer"], TARGET_PEER_RATIO, at_least=True),
        "lansnytt (1 worker) / peer:    "
        + _verdict(ratios["lansnytt_1_over_peer"], TARGET_PEER_RATIO, at_least=True),
        "",
    ]
    measured = [*results["rows"].values(), *results.get("sizes", {}).values()]
    renders = [str(row["renders"]) for row in measured if "renders" in row]
    if renders:
        lines.append(
            "MJML renders per dispatch and language: "
            + ", ".join(renders)
            + (" (met; target 1 per issue and language)" if set(renders) == {"1"} else " (NOT met)")
        )
    render = results.get("render", {})
    if "unavailable" in render:
        lines.append(f"render per issue:              n/a ({render['unavailable']})")
    else:
        lines.append(
            f"render per issue:              {render['seconds'] * 1000:.0f} ms "
            f"(html + text {render['html_text_bytes'] / 1000:.1f} KB)"
        )
    personalise = results.get("personalise", {})
    if "unavailable" in personalise:
        lines.append(f"personalisation per recipient: n/a ({personalise['unavailable']})")
    elif personalise:
        lines.append(
            f"personalisation per recipient: {personalise['seconds'] * 1e6:.0f} µs "
            f"({personalise['method']}; message {personalise['message_bytes'] / 1000:.1f} KB)"
        )
    lines += [
        "",
        f"{'subscribers':<14}{'plan (s)':>10}{'msg/s (2 workers)':>20}  peak RSS per worker",
    ]
    for size, row in results.get("sizes", {}).items():
        if "unavailable" in row:
            lines.append(f"{size:<14}n/a ({row['unavailable']})")
            continue
        plan = row.get("plan_seconds")
        plan_text = f"{plan:.2f}" if plan is not None else "n/a"
        rss = ", ".join(f"{value:.0f} MiB" for value in row["peak_rss_per_worker"])
        lines.append(f"{size:<14}{plan_text:>10}{_rate(row):>20}  {rss}")
    largest = max(results.get("sizes", {"0": {}}), key=int)
    largest_plan = results.get("sizes", {}).get(largest, {}).get("plan_seconds")
    lines += [
        "",
        f"plan time at {largest}:  " + _verdict(largest_plan, TARGET_PLAN_SECONDS, at_least=False),
        "worker RSS growth, smallest → largest size: "
        + _verdict(
            results.get("rss_growth_smallest_to_largest"), TARGET_RSS_GROWTH, at_least=False
        ),
    ]
    return "\n".join(lines)


def results_write(results: dict, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(results, indent=2, ensure_ascii=False) + "\n"
    path = directory / f"{stamp}.json"
    path.write_text(text)
    (directory / "latest.json").write_text(text)
    return path


def main(argv: list[str] | None = None) -> int:
    options = options_parse(argv)
    results: dict = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            # Other work on the machine skews every row; the load says how much there was.
            "load_average_start": [round(value, 2) for value in os.getloadavg()],
        },
        "n": options.n,
        "rows": {},
    }
    sink = SinkProcess()
    relay_sink = None if options.skip_relay else SinkProcess(relay_ms=options.relay_ms)
    results["relay_ms"] = 0 if options.skip_relay else options.relay_ms
    try:
        say(f"sink listening on 127.0.0.1:{sink.port}")
        database_ensure(options.database_url)
        django_setup(options, sink)
        from django.conf import settings

        # The pipelined floor runs over as many connections as one worker's batch uses.
        results["pipeline_connections"] = settings.SEND_CONNECTIONS
        floor_measure(options, sink, results)
        try:
            lansnytt_measure(options, sink, results, relay_sink)
        except Exception:
            results["rows"]["lansnytt_1"] = failed("lansnytt")

        if not options.skip_peer:
            try:
                peer_measure(options, sink, results)
            except Exception:
                results["rows"]["peer"] = failed("peer")
        if relay_sink is not None:
            say(f"relay sink ({options.relay_ms:g} ms per reply) on 127.0.0.1:{relay_sink.port}")
            floor_measure(options, relay_sink, results, prefix="relay_")
    finally:
        sink.stop()
        if relay_sink is not None:
            relay_sink.stop()

    results["total_seconds"] = round(time.monotonic() - _STARTED, 1)
    results["machine"]["load_average_end"] = [round(value, 2) for value in os.getloadavg()]
    summary_compute(results)
    path = results_write(results, options.results_dir)
    print(table_format(results))
    shown = path.relative_to(REPO_DIR) if path.is_relative_to(REPO_DIR) else path
    print(f"\n(total {results['total_seconds']:.0f} s; figures in {shown})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
