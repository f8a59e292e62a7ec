"""Where an apply batch spends its time: N pending inbox rows (the apply_throughput mix)
drained in this process under cProfile, summarized by component.

    python -m bench.profile_apply [--events 10000] [--output bench/profiles/apply.txt]

Time inside psycopg's `wait` is time the worker waits for PostgreSQL (executing the batch's
statements, and the commit); the rest is this process's Python. cProfile slows Python
calls down, so the shares overstate Python somewhat; the un-profiled rate is printed too.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import psycopg

from bench.apply_throughput import CLOUDINARY_URL, seed
from bench.services import configured_settings, scratch_services
from db.urls import libpq_url
from workers.celery_app import session_scope
from workers.inbox import batch as inbox

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_apply")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--output", type=Path, default=HERE / "profiles" / "apply.txt")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        database_url, redis_url = scratch_services(stack)
        configured_settings(database_url, redis_url, CLOUDINARY_URL)
        with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
            seed(conn, args.events)
            plain_s = _drain()
            with conn.transaction():  # the mirror only: TRUNCATE is refused otherwise
                conn.execute("SET LOCAL mediasync.origin = 'cloudinary'")
                conn.execute("TRUNCATE webhook_inbox, media_assets, media_sync_log")
            seed(conn, args.events)
        profile = cProfile.Profile()
        profiled_s = _drain(profile)
    report = _report(profile, args.events, plain_s, profiled_s)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print(report)
    return 0


def _drain(profile: cProfile.Profile | None = None) -> float:
    started = time.perf_counter()
    if profile is not None:
        profile.enable()
    while inbox.drain(session_scope, fetcher=None).claimed:
        pass
    if profile is not None:
        profile.disable()
    return time.perf_counter() - started


def _component(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/")[1].split("/")[0]
    if "/workers/" in filename:
        return "workers/" + filename.rsplit("/workers/", 1)[1]
    return "stdlib and builtins"


def _report(
    profile: cProfile.Profile, events: int, plain_s: float, profiled_s: float
) -> str:
    stats = pstats.Stats(profile)
    by_component: Counter[str] = Counter()
    waiting = 0.0
    for (filename, _, name), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if name == "wait" and filename.endswith("psycopg/connection.py"):
            waiting += own
            continue
        by_component[_component(filename)] += own
    total = waiting + sum(by_component.values())
    lines = [
        f"# apply profile: {events:,} events (70 % uploads, 20 % tag changes, 10 % deletes)",
        "",
        f"un-profiled: {plain_s:.2f} s = {events / plain_s:,.0f} events/s in one process",
        f"profiled:    {profiled_s:.2f} s (cProfile overhead included)",
        "",
        f"{100 * waiting / total:5.1f} %  waiting for PostgreSQL (psycopg wait)",
    ]
    lines += [
        f"{100 * seconds / total:5.1f} %  {component}"
        for component, seconds in by_component.most_common(12)
    ]
    top = io.StringIO()
    pstats.Stats(profile, stream=top).sort_stats("tottime").print_stats(25)
    lines += ["", "## top functions by own time", "", top.getvalue().strip()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
