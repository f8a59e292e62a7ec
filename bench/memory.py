"""Memory benchmark: peak resident memory of each mediasync process over two runs of the
same workload against the same processes, and its growth from the first run to the second.

The receiver (`python -m mediasync receiver`: gunicorn as shipped), one worker
(`worker -c 2` on every queue, as `mediasync dev` runs it), the listener and beat run as
separate processes, with their shipped defaults; the Cloudinary emulator runs in this
process. One run: N assets uploaded to the emulator through the SDK (setup, not sampled);
then, sampled: N signed upload notifications for them POSTed to the receiver at a steady
rate until all N rows are in media_assets, and one DELETE of those rows until cleanup has
deleted every asset from the emulator.

RSS is summed over each process tree (the root and every descendant: gunicorn's workers,
Celery's pool children) and sampled every 50 ms; a page shared after a fork counts once per
process that maps it, so the sum overstates a tree's footprint, alike in both runs.

Target: reported, and no growth across the second run: for every process tree, run 2's peak
<= run 1's peak x 1.05 + 4 MiB (allocator arenas and caches settle in steps of a few MiB).
With trees of 70-270 MiB that allows 8-18 MiB: a leak smaller than a few kB per event (at
3,000 events a run) stays under it; a larger workload (--events) lowers that bound.

    python -m bench.memory            # 2 runs of 3,000 webhooks and 3,000 deletes
    python -m bench.memory --quick    # 2 runs of 200, a CI smoke run (no target)

DATABASE_URL names a PostgreSQL server to use (a scratch database is created and dropped);
without it a throwaway one is started. Redis is always a throwaway one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import cloudinary.uploader
import psycopg

from bench.cleanup_drain import (
    spawn,
    start_listener,
    stop,
    wait_listeners_ready,
    wait_workers_ready,
)
from bench.ingest_latency import SECRET, Sender
from bench.procstat import MIB, RssSampler
from bench.receiver import wait_healthy
from bench.services import configured_settings, scratch_services
from cloudinary_emulator import Emulator
from db.urls import libpq_url
from mediasync.demo import tiny_png
from mediasync.embedded import free_port
from workers.config import CloudinaryAccount, Settings

GROWTH_RATIO = 1.05
GROWTH_MIB = 4.0
SAMPLE_S = 0.05
WAIT_S = 120.0  # longest wait for the rows to be applied, then for the deletes
WORKER = "bench-memory"
LISTENER = "bench-memory-listener"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory")
    parser.add_argument("--quick", action="store_true", help="200 per run (CI smoke)")
    parser.add_argument("--events", type=int, default=None, help="webhooks per run")
    parser.add_argument("--rate", type=float, default=400.0, help="webhooks/s")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--log-dir", type=Path, default=None, help="keep the processes' logs here"
    )
    args = parser.parse_args(argv)
    events = args.events or (200 if args.quick else 3_000)
    with ExitStack() as stack:
        # a private Redis: queue names and the inbox wake-up key are per Redis database,
        # so anything else on a shared one could take this run's wake-ups
        database_url, redis_url = scratch_services(stack, own_redis=True)
        log_dir = args.log_dir or Path(
            stack.enter_context(tempfile.TemporaryDirectory())
        )
        log_dir.mkdir(parents=True, exist_ok=True)
        result = run(database_url, redis_url, events, args.rate, log_dir)
    print(json.dumps(result, indent=2) if args.json else _table(result))
    if not result["completed"]:
        return 1
    return 0 if args.quick or not result["grew"] else 1


def run(
    database_url: str, redis_url: str, events: int, rate: float, log_dir: Path
) -> dict[str, Any]:
    # the emulator signs and verifies with the same secret the sender signs with
    with Emulator(
        cloud_name=f"bench-{uuid.uuid4().hex[:8]}",
        api_key="bench-key",
        api_secret=SECRET,
        rate_limit=50_000,
    ) as em:
        em.client.notifications(False)
        settings = configured_settings(database_url, redis_url, em.cloudinary_url)
        port = free_port()
        with processes(settings, port, log_dir) as roots:
            runs = [_one_run(em, settings, port, roots, events, rate) for _ in range(2)]
            alive = all(process.poll() is None for process in roots.values())
    return _report(runs, events, rate, alive)


@contextmanager
def processes(
    settings: Settings, port: int, log_dir: Path
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """The receiver, a worker, the listener and beat, ready; stopped on exit."""
    cli = [sys.executable, "-m", "mediasync"]
    started: dict[str, subprocess.Popen[bytes]] = {}
    try:
        started["receiver"] = spawn(
            [*cli, "receiver", "--port", str(port)], settings, log_dir / "receiver.log"
        )
        started["worker"] = spawn(
            [*cli, "worker", "-c", "2", "-n", f"{WORKER}@%h"],
            settings,
            log_dir / "worker.log",
        )
        started["listener"] = start_listener(settings, log_dir, LISTENER)
        started["beat"] = spawn(
            [*cli, "beat", "--name", "bench-memory-beat"],
            settings,
            log_dir / "beat.log",
        )
        wait_healthy(port, started["receiver"])
        wait_workers_ready([WORKER])
        wait_listeners_ready(settings.database_url, [LISTENER])
        yield started
    finally:
        # the doors first, then the workers finish theirs (as `mediasync dev` stops)
        for name in ("receiver", "listener", "beat", "worker"):
            if name in started:
                stop(started[name])


def _one_run(
    em: Emulator,
    settings: Settings,
    port: int,
    roots: dict[str, subprocess.Popen[bytes]],
    events: int,
    rate: float,
) -> dict[str, Any]:
    sender = Sender(port, rate, events / rate, threads=4)
    prefix = f"bench/{sender.tag}-"
    _upload(em, [f"{prefix}{k}" for k in range(sender.total)])
    database_url = libpq_url(settings.database_url)
    with RssSampler(
        {name: process.pid for name, process in roots.items()}, SAMPLE_S
    ) as sampler:
        started = time.perf_counter()
        sent = sender.run()
        applied = _wait(
            database_url,
            "SELECT count(*) >= %s FROM media_assets WHERE public_id LIKE %s",
            (sender.total, prefix + "%"),
        )
        applied_at = time.perf_counter()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "DELETE FROM media_assets WHERE public_id LIKE %s", (prefix + "%",)
            )
        drained = _wait(
            database_url,
            "SELECT count(*) FILTER (WHERE status = 'completed') = %s AND count(*) = %s"
            " FROM cloudinary_cleanup_queue WHERE public_id LIKE %s",
            (sender.total, sender.total, prefix + "%"),
        )
        finished = time.perf_counter()
    with psycopg.connect(database_url) as conn:
        inbox: dict[str, int] = dict(
            conn.execute(
                "SELECT status, count(*) FROM webhook_inbox GROUP BY status"
            ).fetchall()
        )
    return {
        "webhooks": len(sent),
        "accepted": sum(status == 202 for _, status in sent.values()),
        "applied": applied,
        "drained": drained and em.client.count_assets() == 0,
        "apply_seconds": round(applied_at - started, 2),
        "drain_seconds": round(finished - applied_at, 2),
        "samples": sampler.samples,
        "inbox_after": inbox,  # every run's rows so far, by status
        "peak_bytes": sampler.peak_bytes,
        "processes": sampler.processes,
    }


def _upload(em: Emulator, public_ids: list[str]) -> None:
    """The run's assets, through the SDK (the emulator posts no notifications)."""
    sdk = CloudinaryAccount.parse(em.cloudinary_url).sdk_config()
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda n: cloudinary.uploader.upload(
                    tiny_png(n), public_id=public_ids[n], **sdk
                ),
                range(len(public_ids)),
            )
        )


def _wait(database_url: str, query: str, params: tuple[Any, ...]) -> bool:
    """Until `query` answers true, for at most WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(query, params).fetchone()
            if row is not None and row[0]:
                return True
            time.sleep(0.1)
    return False


def _report(
    runs: list[dict[str, Any]], events: int, rate: float, alive: bool
) -> dict[str, Any]:
    first, second = runs
    processes: dict[str, dict[str, Any]] = {}
    for name, peak in first["peak_bytes"].items():
        run1, run2 = peak / MIB, second["peak_bytes"][name] / MIB
        allowed = run1 * GROWTH_RATIO + GROWTH_MIB
        processes[name] = {
            "processes": max(first["processes"][name], second["processes"][name]),
            "run1_peak_mib": round(run1, 1),
            "run2_peak_mib": round(run2, 1),
            "growth_mib": round(run2 - run1, 1),
            "allowed_mib": round(allowed, 1),
            "grew": run2 > allowed,
        }
    completed = alive and all(
        r["accepted"] == r["webhooks"] == events and r["applied"] and r["drained"]
        for r in runs
    )
    return {
        "events": events,
        "rate": rate,
        "rss": "sum of VmRSS over each process tree (root and descendants), "
        f"sampled every {SAMPLE_S * 1000:.0f} ms",
        "tolerance": f"run-2 peak <= run-1 peak x {GROWTH_RATIO} + {GROWTH_MIB:.0f} MiB",
        "tolerance_ratio": GROWTH_RATIO,
        "tolerance_mib": GROWTH_MIB,
        "runs": [
            {k: v for k, v in r.items() if k not in ("peak_bytes", "processes")}
            for r in runs
        ],
        "peak_rss_mib": processes,
        "max_growth_mib": max(p["growth_mib"] for p in processes.values()),
        "grew": sorted(name for name, p in processes.items() if p["grew"]),
        "completed": completed,
    }


def _table(r: dict[str, Any]) -> str:
    lines = [
        f"memory: {r['events']:,} webhooks then {r['events']:,} deletes per run, "
        f"{r['rate']:.0f}/s; {r['rss']}; tolerance {r['tolerance']}",
        "",
        "| process tree | processes | run 1 peak MiB | run 2 peak MiB | growth MiB "
        "| allowed MiB | grew |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, p in r["peak_rss_mib"].items():
        lines.append(
            f"| {name} | {p['processes']} | {p['run1_peak_mib']} | {p['run2_peak_mib']} "
            f"| {p['growth_mib']} | {p['allowed_mib']} | {p['grew']} |"
        )
    lines += ["", f"runs: {r['runs']}", f"completed: {r['completed']}"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
