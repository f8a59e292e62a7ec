"""`mediasync cleanup status|sweep|retry-failed|pause|resume`: operate the cleanup queue."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from workers.config import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cleanup",
        help="inspect and operate the Cloudinary cleanup queue",
        description="Operate the queue of assets waiting to be deleted from Cloudinary. "
        "Needs DATABASE_URL; REDIS_URL to enqueue drains and show the Admin API budget "
        "(with CLOUDINARY_URL).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    status = actions.add_parser(
        "status",
        help="counts by state, oldest pending age, listeners, pause, Admin API budget",
    )
    status.add_argument("--json", action="store_true", help="print JSON")
    actions.add_parser(
        "sweep", help="reclaim dead workers' leases and drain what is due, now"
    )
    retry = actions.add_parser(
        "retry-failed", help="put failed rows back to pending (all, or --id …)"
    )
    retry.add_argument(
        "--id", dest="ids", type=int, action="append", help="a queue id (repeatable)"
    )
    pause = actions.add_parser(
        "pause", help="stop deleting from Cloudinary (rows wait; nothing is lost)"
    )
    pause.add_argument("--reason", default=None, help="shown by `cleanup status`")
    actions.add_parser("resume", help="lift the pause and drain what waited")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    from workers.celery_app import configure, session_scope, worker_name
    from workers.operations import cleanup as cleanup_ops

    settings = Settings.from_env(os.environ, required=("DATABASE_URL",))
    configure(settings)
    if args.action == "status":
        with session_scope() as session:
            report = cleanup_ops.status(session).as_dict()
        report["admin_budget"] = _budget(settings)
        _print_status(report, as_json=args.json)
        return 0
    if args.action == "pause":
        with session_scope() as session:
            changed = cleanup_ops.pause(session, by=worker_name(), reason=args.reason)
        print("cleanup paused" if changed else "cleanup was already paused")
        return 0
    if args.action == "resume":
        with session_scope() as session:
            changed = cleanup_ops.resume(session)
        print("cleanup resumed" if changed else "cleanup was not paused")
        return _kick(settings, "resume")
    if args.action == "retry-failed":
        with session_scope() as session:
            ids = cleanup_ops.retry_failed(session, args.ids)
        print(f"requeued {len(ids)} failed rows" + (f": {ids}" if ids else ""))
        return _kick(settings, "retry-failed") if ids else 0
    with session_scope() as session:
        result = cleanup_ops.sweep(session)
    print(
        f"reclaimed {result.reclaimed} leases ({result.dead_lettered} dead-lettered);"
        f" {result.due} rows due" + (" (paused)" if result.paused else "")
    )
    return 0 if result.paused else _kick(settings, "sweep")


def _kick(settings: Settings, what: str) -> int:
    """Enqueue drains for what is due (after the commit above); the sweep would anyway."""
    if not settings.redis_url:
        print(f"{what}: REDIS_URL is not set; the next beat sweep will drain")
        return 0
    from workers.celery_app import session_scope
    from workers.cleanup import queue as cleanup_queue
    from workers.cleanup.tasks import enqueue_drains

    with session_scope() as session:
        due = cleanup_queue.due_count(session)
    try:
        enqueue_drains(cleanup_queue.drains_for(due))
    except Exception as exc:  # the broker's own error types vary by transport
        print(
            f"{what}: could not enqueue drains ({exc}); the sweep will", file=sys.stderr
        )
        return 1
    return 0


def _budget(settings: Settings) -> dict[str, Any] | None:
    if not settings.redis_url or settings.cloudinary is None:
        return None
    import redis

    from workers.rate_governor import RateGovernor

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    try:
        return RateGovernor(client, settings.cloudinary.cloud_name).snapshot().as_dict()
    except redis.RedisError as exc:
        return {"error": str(exc)}
    finally:
        client.close()


def _print_status(report: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return
    counts = " ".join(f"{k}={v}" for k, v in report["counts"].items())
    oldest = report["oldest_pending_age_s"]
    print(f"queue: {counts}; due now: {report['due']}")
    print(
        "oldest pending: "
        + (f"{oldest:.0f} s" if oldest is not None else "none")
        + f"; stale leases: {report['stale_leases']}"
    )
    if report["paused"]:
        print(
            f"PAUSED since {report['paused_at']} by {report['paused_by']}"
            + (f": {report['pause_reason']}" if report["pause_reason"] else "")
        )
    else:
        print("not paused")
    listeners = report["listeners"]
    if not listeners:
        print("listeners: none (deletes wait for the 30 s sweep)")
    for beat in listeners:
        state = beat["state"]
        if beat["stale"]:
            state = f"STALE (missed two heartbeats; last said {beat['reported_state']})"
        print(
            f"listener {beat['name']}: {state}, pid {beat['pid']},"
            f" last seen {beat['age_s']:.1f} s ago"
        )
    budget = report["admin_budget"]
    if budget is None or not budget.get("known"):
        print(
            "admin budget: unknown"
            + (f" ({budget['error']})" if budget and "error" in budget else "")
        )
    else:
        print(
            f"admin budget: {budget['remaining']}/{budget['limit']} left"
            f" (reserve {budget['reserve']}), resets {budget['reset_at']}"
        )
