"""The operator's one screen: is the mirror true right now? Lag, queues, guardrails,
the last reconciles and their drift, who is alive, what is paused.

`overview` gathers it from the queries the operator API, the CLI and /metrics already use
(sync_snapshot, the cleanup status, the inbox counts, the reconcile reports) plus the two
that only this screen needs (apply latency, liveness). The Admin API budget lives in Redis:
the caller adds it. Takes a Session, never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from workers import heartbeats, pauses
from workers.cleanup.listener import HEARTBEAT_PREFIX, listener_heartbeats
from workers.config import Settings
from workers.inbox import queue as inbox_queue
from workers.operations import cleanup as cleanup_ops
from workers.operations.queries import DRIFT_CLASSES, SyncSnapshot, sync_snapshot
from workers.reconcile import driver as reconcile

LATENCY_WINDOW_S = 3600
# the canary alert's threshold (deploy/alerts/mediasync-rules.yml: MediasyncCanaryStale)
CANARY_STALE_S = 300.0
# beat fires the inbox sweep every few seconds; a minute of silence means no leader
BEAT_STALE_FLOOR_S = 60.0

# apply latency: received -> applied, over rows applied within the window (the partial
# index webhook_inbox_applied_at answers the range)
_LATENCY = text("""
SELECT count(*) AS applied,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM applied_at - received_at)) AS p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM applied_at - received_at)) AS p99
  FROM webhook_inbox
 WHERE status IN ('applied', 'ignored') AND applied_at >= now() - make_interval(secs => :window)
""")

# the freshest firing of any beat schedule entry, and who fired it
_BEAT = text("""
SELECT name, fired_by, last_run_at, extract(epoch FROM now() - last_run_at) AS age
  FROM mediasync_beat_state ORDER BY last_run_at DESC LIMIT 1
""")

# the newest finished run of each kind that looks at the whole account
_LAST_RUNS = text("""
SELECT DISTINCT ON (kind) kind, id FROM reconcile_runs
 WHERE kind IN ('incremental', 'full') AND status = 'finished' AND NOT dry_run
 ORDER BY kind, id DESC
""")


@dataclass(frozen=True)
class Latency:
    applied: int  # rows applied within the window
    p50_s: float | None
    p99_s: float | None
    window_s: int = LATENCY_WINDOW_S


@dataclass(frozen=True)
class Liveness:
    kind: str  # worker | listener | beat | other
    name: str
    last_seen: datetime | None
    age_s: float | None
    stale: bool
    stale_after_s: float | None
    details: dict[str, Any]


@dataclass(frozen=True)
class Overview:
    snapshot: SyncSnapshot
    inbox_counts: dict[str, int]
    inbox_oldest_pending_s: float | None
    latency: Latency
    cleanup: cleanup_ops.CleanupStatus
    last_runs: dict[str, dict[str, Any] | None]  # kind -> report (with "drift")
    liveness: list[Liveness]
    paused: list[dict[str, Any]]


def overview(session: Session, settings: Settings) -> Overview:
    return Overview(
        snapshot=sync_snapshot(session),
        inbox_counts=inbox_queue.status_counts(session),
        inbox_oldest_pending_s=inbox_queue.oldest_pending_age_s(session),
        latency=apply_latency(session),
        cleanup=cleanup_ops.status(session, settings),
        last_runs=last_runs(session),
        liveness=liveness(session, settings),
        paused=pauses.paused_flows(session),
    )


def apply_latency(session: Session, window_s: int = LATENCY_WINDOW_S) -> Latency:
    row = session.execute(_LATENCY, {"window": window_s}).mappings().one()
    return Latency(
        applied=int(row["applied"]),
        p50_s=_maybe_float(row["p50"]),
        p99_s=_maybe_float(row["p99"]),
        window_s=window_s,
    )


def last_runs(session: Session) -> dict[str, dict[str, Any] | None]:
    """The last finished incremental and full run's report, each with its drift: the
    count of every class in which the run changed something or failed."""
    found: dict[str, dict[str, Any] | None] = {"incremental": None, "full": None}
    for kind, run_id in session.execute(_LAST_RUNS):
        report = reconcile.run_status(session, int(run_id))
        if report is not None:
            counts = report.get("counts") or {}
            report["drift"] = {name: int(counts.get(name, 0)) for name in DRIFT_CLASSES}
        found[str(kind)] = report
    return found


def liveness(session: Session, settings: Settings) -> list[Liveness]:
    """Workers (the canary they complete), listeners, the beat leader, anything else that
    reports a heartbeat; each marked stale past its own threshold."""
    alive: list[Liveness] = []
    canary_limit = max(CANARY_STALE_S, 3.0 * settings.canary_interval_s)
    for name, details, seen, age in heartbeats.listed(session, ""):
        if name.startswith(HEARTBEAT_PREFIX):
            continue  # below, with the listener's own threshold
        is_canary = name == heartbeats.CANARY
        alive.append(
            Liveness(
                kind="worker" if is_canary else "other",
                name=str(details.get("worker") or name) if is_canary else name,
                last_seen=seen,
                age_s=age,
                stale=is_canary and age > canary_limit,
                stale_after_s=canary_limit if is_canary else None,
                details=dict(details),
            )
        )
    for beat in listener_heartbeats(session):
        alive.append(
            Liveness(
                kind="listener",
                name=beat.name,
                last_seen=beat.last_seen,
                age_s=beat.age_s,
                stale=beat.stale,
                stale_after_s=beat.stale_after_s,
                details={"host": beat.host, "pid": beat.pid, "state": beat.state},
            )
        )
    alive.append(_beat(session, settings))
    return alive


def _beat(session: Session, settings: Settings) -> Liveness:
    limit = max(
        BEAT_STALE_FLOOR_S,
        3.0 * min(settings.inbox_sweep_interval_s, settings.sweep_interval_s),
    )
    row = session.execute(_BEAT).mappings().one_or_none()
    if row is None:
        return Liveness(
            "beat", "beat", None, None, True, limit, {"note": "never fired"}
        )
    age = max(0.0, float(row["age"]))
    return Liveness(
        kind="beat",
        name=str(row["fired_by"] or "beat"),
        last_seen=row["last_run_at"],
        age_s=age,
        stale=age > limit,
        stale_after_s=limit,
        details={"last_entry": row["name"]},
    )


def _maybe_float(value: Any) -> float | None:
    return None if value is None else max(0.0, float(value))
