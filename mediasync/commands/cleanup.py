"""`mediasync cleanup status|sweep|retry-failed|pause|resume|release|restore|adopt`: operate
the cleanup queue, and decide on the deletes the guardrails hold."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import sys
from typing import TYPE_CHECKING, Any

from workers.config import Settings

if TYPE_CHECKING:  # the module itself is imported when the command runs
    from workers.operations.deletes import Restored


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
    _selection_args(
        actions.add_parser(
            "release", help="send held deletes (even while the breaker is tripped)"
        )
    )
    _selection_args(
        actions.add_parser(
            "restore",
            help="give held (or pending) deletes' rows back and cancel the deletes",
            description="A soft-deleted row is undeleted; a hard-deleted one is re-created "
            "from Cloudinary (needs CLOUDINARY_URL and REDIS_URL: Admin API calls, "
            "within the shared budget).",
        )
    )
    actions.add_parser(
        "adopt",
        help="record this database as the one mediasync serves; send the deletes held "
        "because it was not",
    )
    parser.set_defaults(handler=run)


def _selection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all", action="store_true", help="every row that qualifies")
    parser.add_argument(
        "--id", dest="ids", type=int, action="append", help="a queue id (repeatable)"
    )
    parser.add_argument("--prefix", help="rows whose public_id starts with this")
    parser.add_argument("--before", help="rows queued before this ISO 8601 time (UTC)")
    parser.add_argument("--after", help="rows queued after this ISO 8601 time (UTC)")


def run(args: argparse.Namespace, rest: list[str]) -> int:
    from workers.celery_app import configure, session_scope, worker_name
    from workers.operations import cleanup as cleanup_ops

    required: tuple[str, ...] = ("DATABASE_URL",)
    if args.action == "restore":  # hard deletes are re-created from Cloudinary
        required += ("REDIS_URL", "CLOUDINARY_URL")
    settings = Settings.from_env(os.environ, required=required)
    configure(settings)
    if args.action in ("release", "restore", "adopt"):
        return decide(args, settings)
    if args.action == "status":
        with session_scope() as session:
            report = cleanup_ops.status(session, settings).as_dict()
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
        try:
            with session_scope() as session:
                ids = cleanup_ops.retry_failed(session, args.ids)
        except cleanup_ops.NotRetryable as refused:
            print(f"mediasync cleanup retry-failed: {refused}", file=sys.stderr)
            return 1
        print(f"requeued {len(ids)} failed rows" + (f": {ids}" if ids else ""))
        return _kick(settings, "retry-failed") if ids else 0
    with session_scope() as session:
        result = cleanup_ops.sweep(session)
    print(
        f"reclaimed {result.reclaimed} leases ({result.dead_lettered} dead-lettered);"
        f" {result.due} rows due" + (" (paused)" if result.paused else "")
    )
    return 0 if result.paused else _kick(settings, "sweep")


def decide(args: argparse.Namespace, settings: Settings) -> int:
    """release, restore or adopt; one line of result, or of why nothing changed."""
    from workers.celery_app import cloudinary, session_scope
    from workers.operations import deletes

    by = operator_name()
    what = f"cleanup {args.action}"
    if args.action == "adopt":
        cloud_name = settings.cloudinary.cloud_name if settings.cloudinary else None
        with session_scope() as session:
            adopted = deletes.adopt(session, by, cloud_name)
        print(
            f"adopted database {adopted.database_name} (oid {adopted.database_oid})"
            f" for cloud {adopted.cloud_name or '(recorded by the next drain)'};"
            f" {len(adopted.requeued)} held deletes requeued"
        )
        return _kick(settings, what) if adopted.requeued else 0
    try:
        selection = deletes.Selection(
            every=args.all,
            ids=tuple(args.ids or ()),
            prefix=args.prefix,
            before=deletes.parse_time(args.before) if args.before else None,
            after=deletes.parse_time(args.after) if args.after else None,
        )
        with session_scope() as session:
            if args.action == "release":
                released = deletes.release(session, selection, by)
            else:
                client, governor = cloudinary(timeout_s=30.0)
                restored = deletes.restore(session, selection, by, client, governor)
    except deletes.BadSelection as exc:
        print(f"mediasync {what}: {exc}", file=sys.stderr)
        return 2
    except deletes.SelectionError as exc:  # unknown ids, wrong states: nothing changed
        print(f"mediasync {what}: {exc}; nothing changed", file=sys.stderr)
        return 1
    if args.action == "release":
        print(
            f"released {len(released.ids)} held deletes"
            + (f": {released.ids}" if 0 < len(released.ids) <= 20 else "")
            + ("; the breaker is reset" if released.breaker_reset else "")
        )
        return _kick(settings, what) if released.ids else 0
    print(_restored_line(restored))
    return 0


def _restored_line(result: Restored) -> str:
    line = (
        f"restored {len(result.ids)} rows: {result.restored_soft} undeleted,"
        f" {result.recreated} re-created from Cloudinary, {result.already_live} already"
        f" live, {result.missing} gone from Cloudinary (cancelled, no row)"
    )
    if result.unresolved:
        line += f"; {result.unresolved} unreadable answers left held"
    if result.left:
        line += f"; {result.left} left held ({result.stopped}): restore again later"
    return line + ("; the breaker is reset" if result.breaker_reset else "")


def operator_name() -> str:
    """Who to record as having decided: the login and the host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in this container
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


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
    _print_guardrails(report)
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


def _print_guardrails(report: dict[str, Any]) -> None:
    breaker, held = report["breaker"], report["counts"]["held"]
    if breaker["tripped"]:
        details = breaker["details"]
        print(
            f"breaker: TRIPPED since {breaker['tripped_at']}"
            f" ({details.get('queued', '?')} queued > limit {details.get('limit', '?')})"
        )
    else:
        print("breaker: closed")
    print(
        f"held: {held}"
        + (" (decide: mediasync cleanup release|restore|adopt)" if held else "")
    )
    print(f"scope: {report['scope']}; delay: {report['delay_s']} s")
    identity = report["identity"]
    if identity is None:
        print("database: none recorded (the next drain records this one)")
    elif identity["matches"]:
        print(
            f"database: {identity['database_name']} is the recorded one"
            + (
                f", adopted by {identity['adopted_by']}"
                if identity["adopted_by"]
                else ""
            )
        )
    else:
        print(
            f"database: NOT the recorded one ({identity['database_name']}):"
            " deletes are held until `mediasync cleanup adopt`"
        )
