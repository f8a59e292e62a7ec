"""`python -m bench [--quick]`: run every benchmark, write bench/RESULTS.md and the raw JSON.

Each scenario runs as its own process (`python -m bench.<name> --json`), measuring its figure
beside its floor in the same run. Without DATABASE_URL/REDIS_URL each starts its own servers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCENARIOS = (
    "receiver",
    "ingest_latency",
    "apply_throughput",
    "cleanup_drain",
    "reconcile",
)
# Sizes for a full run where a scenario's own default would exceed the 2-minute budget.
FULL_ARGS: dict[str, list[str]] = {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke sizes (CI)")
    parser.add_argument(
        "--only", choices=SCENARIOS, action="append", help="run only these"
    )
    parser.add_argument(
        "--output", type=Path, default=HERE, help="where RESULTS.md and results/ go"
    )
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    failed = False
    for name in args.only or SCENARIOS:
        command = [sys.executable, "-m", f"bench.{name}", "--json"]
        command += ["--quick"] if args.quick else FULL_ARGS.get(name, [])
        print(f"bench: {name} …", flush=True)
        started = time.monotonic()
        done = subprocess.run(
            command, cwd=HERE.parent, capture_output=True, text=True, check=False
        )
        try:
            results[name] = json.loads(done.stdout)
        except ValueError:
            failed = True
            results[name] = {
                "error": done.stderr.strip()[-2000:] or done.stdout[-2000:]
            }
            print(f"bench: {name} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
            continue
        # a scenario exits 1 when it measured but missed its target: keep the figures
        results[name]["met_target"] = done.returncode == 0
        results[name]["wall_seconds"] = round(time.monotonic() - started, 1)
    raw_dir = args.output / "results"
    raw_dir.mkdir(parents=True, exist_ok=True)
    suffix = "quick" if args.quick else "full"
    previous = raw_dir / f"latest-{suffix}.json"
    if args.only and previous.exists():
        # a partial run updates its scenarios and keeps the others' latest figures
        results = {**json.loads(previous.read_text())["results"], **results}
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "quick": args.quick,
        "results": results,
    }
    (raw_dir / f"latest-{suffix}.json").write_text(
        json.dumps(document, indent=2) + "\n"
    )
    if not args.quick:
        (args.output / "RESULTS.md").write_text(render(document))
    print(render(document))
    return 1 if failed else 0


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _ms(value: float | None) -> str:
    # a percentile that lands on a row never seen within the wait has no value
    return "not reached" if value is None else f"{value:.0f} ms"


def render(document: dict[str, Any]) -> str:
    r = document["results"]
    rows: list[tuple[str, str, str, str, str]] = []
    if "receiver" in r and "results" in r["receiver"]:
        rx = r["receiver"]["results"]
        ours, ideal, bare = rx["mediasync"], rx["ideal"], rx["bare"]
        rows.append(
            (
                "receiver throughput (signed webhooks/s; "
                f"{r['receiver']['gunicorn']}, {r['receiver']['connections']} connections)",
                f"{ours['requests_per_s']:.0f}/s (p99 {ours['p99_ms']:.0f} ms at peak)",
                f"ideal durable {ideal['requests_per_s']:.0f}/s; bare Flask "
                f"{bare['requests_per_s']:.0f}/s",
                f"{r['receiver']['paired_ratio_median']:.2f} x ideal",
                "≥ 0.9 x ideal",
            )
        )
    if "ingest_latency" in r and "sent" in r["ingest_latency"]:
        c = r["ingest_latency"]
        p50, p99 = c["p50_ms"], c["p99_ms"]
        rows.append(
            (
                f"ingest end to end (webhook POST to row visible; {c['target_rate']:.0f}/s "
                f"for {c['seconds']:.0f} s)",
                f"p50 {_ms(p50)}, p99 {_ms(p99)}; {c['visible']:,} of {c['accepted']:,} "
                f"visible, achieved {c['achieved_rate']:.0f}/s",
                "-",
                "-",
                "p50 < 30 ms, p99 < 100 ms",
            )
        )
    if "apply_throughput" in r and "events" in r["apply_throughput"]:
        c = r["apply_throughput"]
        rows.append(
            (
                f"apply throughput ({c['events']:,} pending inbox rows, {c['workers']})",
                f"{c['events_per_s']:.0f} events/s",
                f"{c['noop_tasks_per_s']:.0f} no-op tasks/s, same workers",
                f"{c['ratio']:.2f} x no-op floor",
                ">= 10 x no-op floor",
            )
        )
    if "cleanup_drain" in r and "rows" in r["cleanup_drain"]:
        c = r["cleanup_drain"]
        rows.append(
            (
                f"cleanup drain ({c['rows']:,} rows, one DELETE, {c['listeners']} listeners, "
                f"{c['workers']} workers)",
                f"{c['seconds']:.1f} s, {c['admin_calls']} delete_resources calls",
                f"{c['floor']} calls (ceil(rows/100)); direct SDK {c['baseline_seconds']} s",
                f"{c['ratio']:.2f} x call floor",
                "≤ 1.05 x floor, < 30 s",
            )
        )
    if "reconcile" in r and "assets" in r["reconcile"]:
        c = r["reconcile"]
        rows.append(
            (
                f"reconcile ({c['assets']:,} assets, {c['drift_per_class']} drifted per class)",
                f"{c['seconds']:.1f} s, {c['list_calls']} list calls",
                f"{c['floor']} calls; listing alone {c['listing_only_seconds']} s",
                f"{c['ratio']:.2f} x call floor",
                "≤ 1.05 x floor, < 60 s",
            )
        )
    lines = [
        "# Benchmark results",
        "",
        f"Measured {document['date']} on {document['machine']}"
        + (" (quick sizes)" if document["quick"] else "")
        + ". Each figure and its floor come from the same run; the machine is shared and "
        "noisy, so compare ratios, not absolute times. Regenerate with `make bench`.",
        "",
        "| scenario | our figure | floor, same run | ratio | target |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    missed = [name for name, v in r.items() if v.get("met_target") is False]
    if missed:
        lines += [
            "",
            "Missed targets: " + ", ".join(missed) + " (see the notes below).",
        ]
    errors = {name: v["error"] for name, v in r.items() if "error" in v}
    if errors:
        lines += ["", "Failed scenarios:", ""]
        lines += [
            f"- {name}: `{error.splitlines()[-1] if error else ''}`"
            for name, error in errors.items()
        ]
    lines += [
        "",
        "## Notes",
        "",
        "- Apply throughput misses its target by far: one wake-up drains the inbox in batches",
        "  of 100 but only one apply task is in flight at a time (the second worker idles), and",
        "  each row costs several statements plus a savepoint and an audit row. The",
        "  apply rate also sets the ingest latency once the offered rate exceeds it. Fix: several",
        "  concurrent drains (SKIP LOCKED already makes them safe) and set-based upserts per batch.",
        "- The full apply run uses 20,000 rows, not 100,000: at the measured rate 100,000 take",
        "  10-15 minutes, over the 2-minute budget per scenario.",
        "- Not yet measured: peak RSS per process across two runs; the receiver's p99 at half its",
        "  peak rate; the CPU share of the emulator and the load generator.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
