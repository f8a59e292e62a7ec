"""`mediasync reconcile`: start a reconciliation run (queued, or here with --wait); `reconcile
show RUN` and `reconcile list`: what runs did."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from workers.config import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reconcile",
        help="make the mirror match Cloudinary (incremental by default)",
        description="Compare media_assets with Cloudinary and repair the differences: "
        "insert missed uploads, update stale rows, re-queue the cleanup of assets whose "
        "rows were deleted, and mark rows deleted whose asset is gone. Without --full or "
        "--public-id it searches what changed since the last run. Without --wait the run "
        "is queued for a worker and its id printed (follow it with `mediasync reconcile "
        "show RUN`); with --wait it runs here and the report is printed. Exit 0 when the run finished (or was queued, or one is "
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
    reports = parser.add_subparsers(dest="action", metavar="{show,list}")
    show = reports.add_parser(
        "show",
        help="a run's report (its progress while it runs)",
        description="Print the report of reconcile run RUN. Exit 1 when there is no such "
        "run or it was aborted or failed.",
    )
    show.add_argument("run_id", metavar="RUN", type=int, help="the run's id")
    # SUPPRESS: `reconcile --json show 4` keeps the --json given before the action
    show.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print JSON"
    )
    listing = reports.add_parser("list", help="recent runs, newest first")
    listing.add_argument(
        "--limit", type=int, default=20, metavar="N", help="how many (default 20)"
    )
    listing.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print JSON"
    )


def run(args: argparse.Namespace, rest: list[str]) -> int:
    if args.action is None:
        return _start(args)
    starting = [
        flag
        for flag, given in (
            ("--full", args.full),
            ("--public-id", args.public_id),
            ("--dry-run", args.dry_run),
            ("--wait", args.wait),
        )
        if given
    ]
    if starting:
        print(
            f"mediasync reconcile {args.action}: {', '.join(starting)} starts a run; "
            f"{args.action} only reads them",
            file=sys.stderr,
        )
        return 2
    return _show_or_list(args)


def _start(args: argparse.Namespace) -> int:
    from mediasync.progress import progress
    from mediasync.reconcile_text import describe, follow_hint
    from workers.celery_app import (
        cloudinary,
        get_sessionmaker,
        get_settings,
        session_scope,
    )
    from workers.cloudinary_client import DEFAULT_TIMEOUT_S
    from workers.reconcile import driver as reconcile
    from workers.reconcile import runs, tasks

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
        follow = follow_hint(run_id)
        queued = {"run_id": run_id, "kind": kind, "status": "queued", "show": follow}
        print(
            json.dumps(queued)
            if args.json
            else f"reconcile {kind} run {run_id} queued for a worker; follow it with "
            f"`{follow}`"
        )
        return 0
    limits = tasks.limits_from(settings)
    with session_scope() as session:
        run_id, _ = reconcile.start(session, kind, limits, **params)
    client, governor = cloudinary(DEFAULT_TIMEOUT_S)

    def sleep_noisily(seconds: float) -> None:
        # the driver recorded the pause's reason before asking to sleep
        with session_scope() as session:
            reason = (reconcile.run_status(session, run_id) or {}).get("reason")
        print(f"paused for {seconds:.0f} s: {reason or 'paused'}", file=sys.stderr)
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
    with session_scope() as session:
        run = runs.load(session, run_id)
        if run is not None:  # the report again, with what a single run decided
            report = runs.report_of(
                session, run, already_running=report.already_running
            )
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(describe(report, grace_s=settings.reconcile_grace_s))
    return 0 if report.ok else 1


def _show_or_list(args: argparse.Namespace) -> int:
    """Read reconcile_runs: needs only DATABASE_URL."""
    from mediasync.reconcile_text import describe, list_line
    from workers.celery_app import configure, session_scope
    from workers.reconcile import runs

    settings = Settings.from_env(os.environ, required=("DATABASE_URL",))
    configure(settings)
    if args.action == "list":
        if args.limit < 1:
            print(
                "mediasync reconcile list: --limit must be at least 1", file=sys.stderr
            )
            return 2
        with session_scope() as session:
            recent = runs.recent_runs(session, args.limit)
        if args.json:
            print(json.dumps(recent, indent=2))
        elif not recent:
            print("no reconcile runs yet")
        else:
            print("\n".join(list_line(run) for run in recent))
        return 0
    with session_scope() as session:
        run = runs.load(session, args.run_id)
        report = runs.report_of(session, run) if run is not None else None
    if report is None:
        print(
            f"mediasync reconcile show: no reconcile run {args.run_id}", file=sys.stderr
        )
        return 1
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(describe(report, grace_s=settings.reconcile_grace_s))
    return 0 if report.ok else 1
