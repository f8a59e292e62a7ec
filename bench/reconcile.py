"""Reconciliation benchmark: N assets in the emulator, a mirror with 1% drift in each class,
one full run. Measures seconds and Admin list calls against the floor (ceil(n/500) per
listed scope, at least one call for an empty one), next to a listing-only baseline: the
same pages fetched through the same SDK with no database work, in the same process. Also
reports the CPU the in-process emulator used during the measured run.

    python -m bench.reconcile            # 100,000 assets (target: <= 1.05x floor, < 60 s)
    python -m bench.reconcile --quick    # 5,000 assets, a CI smoke run

DATABASE_URL / REDIS_URL name servers to use (a scratch database is created and dropped);
without them, throwaway embedded servers are started.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from bench.procstat import OtherThreadsCpu, cores
from bench.services import median_round, rounds_on_scratch
from cloudinary_emulator import Emulator
from db.session import make_engine, make_sessionmaker
from workers.cloudinary_client import CloudinaryClient
from workers.config import CloudinaryAccount
from workers.rate_governor import RateGovernor
from workers.reconcile import driver as reconcile
from workers.reconcile.sweep import DEFAULT_SCOPES

PAGE = 500
TARGET_RATIO = 1.05
TARGET_SECONDS = 60.0
ROUNDS = 3  # the figure is the median round's


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reconcile")
    parser.add_argument("--quick", action="store_true", help="5,000 assets (CI smoke)")
    parser.add_argument("--assets", type=int, default=None)
    parser.add_argument("--drift", type=float, default=0.01, help="share per class")
    parser.add_argument("--rounds", type=int, default=None, help=f"runs ({ROUNDS})")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="leave the freshly loaded mirror without planner statistics",
    )
    args = parser.parse_args(argv)
    total = args.assets or (5_000 if args.quick else 100_000)
    rounds = rounds_on_scratch(
        args.rounds or (1 if args.quick else ROUNDS),
        lambda database_url, redis_url, _stack: run(
            database_url, redis_url, total, args.drift, analyze=not args.no_analyze
        ),
    )
    result = median_round(rounds, ("seconds", "list_calls", "ratio", "converged"))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(_table(result))
    # every round within the call target, the median round within the time target
    ok = all(r["converged"] and r["ratio"] <= TARGET_RATIO for r in rounds)
    if not args.quick:
        ok = ok and result["seconds"] < TARGET_SECONDS
    return 0 if ok else 1


def run(
    database_url: str, redis_url: str, total: int, drift: float, *, analyze: bool = True
) -> dict[str, Any]:
    per_class = max(1, int(total * drift))
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    cloud_name = f"bench-{uuid.uuid4().hex[:8]}"
    redis_client = redis.Redis.from_url(redis_url)
    # a free plan's hourly budget: the run must fit in its share of it
    with Emulator(
        cloud_name=cloud_name,
        api_key="k",
        api_secret="s",  # noqa: S106 -- the local emulator's throwaway credentials
        rate_limit=500,
    ) as em:
        try:
            em.client.notifications(False)
            em.client.seed(count=total, prefix="bench/")
            assets = em.client.assets()
            tombstoned = _load_mirror(sessions, assets, per_class, analyze)
            account = CloudinaryAccount.parse(em.cloudinary_url)
            client = CloudinaryClient(account)
            governor = RateGovernor(redis_client, cloud_name)

            em.client.reset_counters()
            started = time.perf_counter()
            listing_calls = _list_only(client, total)
            listing_s = time.perf_counter() - started
            em.client.set_rate_limit(500)  # a fresh hour for the measured run
            governor.forget()
            em.client.reset_counters()

            limits = reconcile.Limits()
            # The emulator serves from threads of this process while this thread runs
            # the reconcile: the emulator's CPU is everything but this thread's.
            with OtherThreadsCpu() as emulator_cpu:
                started = time.perf_counter()
                with sessions.begin() as session:
                    run_id, _ = reconcile.start(session, "full", limits)
                report = reconcile.execute(sessions, run_id, client, governor, limits)
                seconds = time.perf_counter() - started
            list_calls = em.client.counters()["list_resources"]
            converged = _converged(sessions, em.client.assets(), tombstoned)
        finally:
            redis_client.delete(f"mediasync:ratelimit:{cloud_name}")
            redis_client.close()
            engine.dispose()
    floor = math.ceil(total / PAGE) + len(DEFAULT_SCOPES) - 1
    return {
        "assets": total,
        "analyzed": analyze,
        "drift_per_class": per_class,
        "status": report.status,
        "counts": report.counts,
        "seconds": round(seconds, 2),
        "list_calls": list_calls,
        "floor": floor,
        "ratio": round(list_calls / floor, 3),
        "listing_only_seconds": round(listing_s, 2),
        "listing_only_calls": listing_calls,
        "converged": converged,
        # over the measured run: CPU seconds, and their share of one core (of cores)
        "emulator_cpu_s": round(emulator_cpu.cpu_s, 3),
        "emulator_cpu_share": round(emulator_cpu.share, 3),
        "emulator_threads": emulator_cpu.threads,
        "cores": cores(),
    }


def _load_mirror(
    sessions: sessionmaker[Session],
    assets: list[dict[str, Any]],
    per_class: int,
    analyze: bool,
) -> set[str]:
    """A mirror built an hour ago with `per_class` rows of each kind of drift; returns the
    tombstoned public_ids (whose assets reconcile queues for cleanup, not back to life)."""
    assets = sorted(assets, key=lambda a: a["public_id"])
    then = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    rows: list[dict[str, Any]] = []
    tombstoned: set[str] = set()
    for index, asset in enumerate(assets):
        kind = index // per_class if index < 3 * per_class else 3
        row = {
            "asset_id": asset["asset_id"],
            "public_id": asset["public_id"],
            "resource_type": asset["resource_type"],
            "delivery_type": asset["type"],
            "version": asset["version"],
            "format": asset.get("format"),
            "bytes": asset.get("bytes"),
            "width": asset.get("width"),
            "height": asset.get("height"),
            "folder": asset.get("asset_folder"),
            "display_name": asset.get("display_name"),
            "tags": asset.get("tags") or [],
            "secure_url": asset.get("secure_url"),
            "deleted_at": None,
        }
        if kind == 0:  # stale: an older version with other tags
            row.update(version=asset["version"] - 1, tags=["old"])
        elif kind == 1:  # missing: the upload webhook was lost
            continue
        elif kind == 2:  # deleted by the host app, cleanup lost
            row["deleted_at"] = then
            tombstoned.add(asset["public_id"])
        rows.append(row)
    for n in range(per_class):  # live rows whose asset is gone
        rows.append(
            {
                "public_id": f"gone/{n:07d}",
                "resource_type": "image",
                "delivery_type": "upload",
                "version": 1,
                "tags": [],
                "deleted_at": None,
            }
        )
    insert = text("""
        INSERT INTO media_assets (asset_id, public_id, resource_type, delivery_type, version,
            format, bytes, width, height, folder, display_name, tags, secure_url,
            deleted_at, created_at, updated_at)
        SELECT asset_id, public_id, resource_type, delivery_type, version, format, bytes,
               width, height, folder, display_name, tags, secure_url, deleted_at,
               CAST(:then AS timestamptz), CAST(:then AS timestamptz)
          FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
               asset_id text, public_id text, resource_type text, delivery_type text,
               version bigint, format text, bytes bigint, width int, height int,
               folder text, display_name text, tags text[], secure_url text,
               deleted_at timestamptz)
    """)
    with sessions.begin() as session:
        for start in range(0, len(rows), 20_000):
            chunk = json.dumps(rows[start : start + 20_000])
            session.execute(insert, {"rows": chunk, "then": then})
    if analyze:  # a mirror in production has planner statistics (autovacuum keeps them)
        with sessions.begin() as session:
            session.execute(text("ANALYZE media_assets"))
    return tombstoned


def _list_only(client: CloudinaryClient, total: int) -> int:
    """The baseline: page every default scope, nothing else."""
    calls = 0
    for resource_type, delivery_type in DEFAULT_SCOPES:
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"max_results": PAGE, "direction": "asc"}
            params.update(tags=True, context=True, metadata=True)
            if cursor:
                params["next_cursor"] = cursor
            page = client.resources(resource_type, delivery_type, **params)
            calls += 1
            cursor = page.get("next_cursor")
            if not cursor:
                break
    return calls


def _converged(
    sessions: sessionmaker[Session], assets: list[dict[str, Any]], tombstoned: set[str]
) -> bool:
    with sessions.begin() as session:
        live = {
            pid: (version, sorted(tags))
            for pid, version, tags in session.execute(
                text(
                    "SELECT public_id, version, tags FROM media_assets"
                    " WHERE deleted_at IS NULL"
                )
            )
        }
    want = {
        a["public_id"]: (a["version"], sorted(a.get("tags") or []))
        for a in assets
        if a["public_id"] not in tombstoned
    }
    return live == want


def _table(r: dict[str, Any]) -> str:
    counts = r["counts"]
    lines = [
        "| assets | drift/class | status | seconds | list calls | floor | ratio "
        "| listing only (s, calls) | converged |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---|",
        f"| {r['assets']:,} | {r['drift_per_class']:,} | {r['status']} | {r['seconds']} "
        f"| {r['list_calls']} | {r['floor']} | {r['ratio']} "
        f"| {r['listing_only_seconds']}, {r['listing_only_calls']} | {r['converged']} |",
        "",
        "counts: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
