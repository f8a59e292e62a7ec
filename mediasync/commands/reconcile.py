"""`mediasync reconcile`: start a reconciliation run (queued, or here with --wait)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workers.reconcile.runs import Report


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reconcile",
        help="make the mirror match Cloudinary (incremental by default)",
        description="Compare media_assets with Cloudinary and repair the differences: "
        "insert missed uploads, update stale rows, re-queue the cleanup of assets whose "
        "rows were deleted, and mark rows deleted whose asset is gone. Without --full or "
        "--public-id it searches what changed since the last run. Without --wait the run "
        "is queued for a worker and its id printed; with --wait it runs here and the "
        "report is printed. Exit 0 when the run finished (or was queued, or one is "
        "already running), 1 when it was aborted by the blast-radius limit or failed.",
    )
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "--full", action="store_true", help="list every asset (the slow, thorough run)"
    )
    scope.add_argument(
        "--public-id", metavar="ID", help="reconcile one asset (one Admin API call)"
    )
    parser.add_argument(
        "--resource-type",
        default="image",
        choices=("image", "video", "raw"),
        help="with --public-id (default image)",
    )
    parser.add_argument(
        "--type",
        dest="delivery_type",
        default="upload",
        metavar="TYPE",
        help="with --public-id: the delivery type (default upload)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="report what would change without changing anything",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="run in this process until done (sleeping through rate-limit pauses)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    from mediasync.progress import progress
    from workers.celery_app import (
        cloudinary,
        get_sessionmaker,
        get_settings,
        session_scope,
    )
    from workers.cloudinary_client import DEFAULT_TIMEOUT_S
    from workers.reconcile import driver as reconcile
    from workers.reconcile import tasks

    kind = "full" if args.full else "single" if args.public_id else "incremental"
    params: dict[str, Any] = {"dry_run": args.dry_run}
    if kind == "single":
        params.update(
            public_id=args.public_id,
            resource_type=args.resource_type,
            delivery_type=args.delivery_type,
        )
    settings = get_settings()
    if not args.wait:
        run_id = tasks.start_run(kind, **params)
        queued = {"run_id": run_id, "kind": kind, "status": "queued"}
        print(json.dumps(queued) if args.json else f"reconcile {kind} run {run_id}")
        return 0
    limits = tasks.limits_from(settings)
    with session_scope() as session:
        run_id, _ = reconcile.start(session, kind, limits, **params)
    client, governor = cloudinary(DEFAULT_TIMEOUT_S)

    def sleep_noisily(seconds: float) -> None:
        print(f"paused for {seconds:.0f} s (rate limit)", file=sys.stderr)
        time.sleep(seconds)

    def describe_progress() -> str:
        with session_scope() as session:
            status = reconcile.run_status(session, run_id) or {}
        counts = status.get("counts", {})
        done = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        return f"reconcile {kind} run {run_id}: {status.get('status', '?')}; {done}"

    with progress(describe_progress):
        report = reconcile.execute(
            get_sessionmaker(),
            run_id,
            client,
            governor,
            limits,
            wait=True,
            sleep=sleep_noisily,
        )
    print(json.dumps(report.as_dict(), indent=2) if args.json else describe(report))
    return 0 if report.ok else 1


def describe(report: Report) -> str:
    """The report as a few lines for a terminal."""
    from workers.reconcile.runs import CLASSES

    head = f"reconcile {report.kind} run {report.run_id}: {report.status}"
    if report.dry_run:
        head += " (dry run: nothing was changed)"
    if report.already_running:
        head += " (already running elsewhere)"
    counts = report.counts
    lines = [
        head,
        "  " + "  ".join(f"{name} {counts.get(name, 0)}" for name in CLASSES),
        f"  pages {counts.get('pages', 0)}, Admin API calls {counts.get('api_calls', 0)}",
    ]
    if report.reason:
        lines.append(f"  reason: {report.reason}")
    if report.resume_at is not None:
        lines.append(f"  resumes at {report.resume_at.isoformat()}")
    return "\n".join(lines)
