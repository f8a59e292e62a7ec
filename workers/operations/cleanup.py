"""Operator-facing cleanup functions: status, retry-failed, pause/resume, sweep (the
decisions on held deletes are in deletes.py).

The CLI (`mediasync cleanup …`) and the operator HTTP API call these. Each takes a Session
and never commits; enqueueing the follow-up drain is the caller's job, after its commit.
Pauses live in the core (workers/pauses.py: the drain reads them on its hot path) and the
sweep in the flow (workers/cleanup/queue.py: beat runs it too); they are offered here as
the operator's actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from workers.cleanup import guard
from workers.cleanup import queue as cleanup_queue
from workers.cleanup.listener import ListenerHeartbeat, listener_heartbeats
from workers.cleanup.queue import SweepResult, sweep
from workers.config import Settings
from workers.pauses import CLEANUP_FLOW, is_paused, pause, resume

__all__ = [
    "CleanupStatus",
    "NotRetryable",
    "SweepResult",
    "is_paused",
    "pause",
    "resume",
    "retry_failed",
    "status",
    "sweep",
]

STATUSES = (
    "pending",
    "processing",
    "completed",
    "failed",
    "skipped",
    "held",
    "cancelled",
)
# One partial index per status answers each part (db/migrations/0014): a GROUP BY over
# the table would read every row.
# (the statuses are literals: a partial index serves only a predicate it can prove)
_STATUS_COUNTS = text("""
SELECT 'pending', count(*) FROM cloudinary_cleanup_queue WHERE status = 'pending'
UNION ALL
SELECT 'processing', count(*) FROM cloudinary_cleanup_queue WHERE status = 'processing'
UNION ALL
SELECT 'failed', count(*) FROM cloudinary_cleanup_queue WHERE status = 'failed'
UNION ALL
SELECT 'held', count(*) FROM cloudinary_cleanup_queue WHERE status = 'held'
UNION ALL
SELECT 'cancelled', count(*) FROM cloudinary_cleanup_queue WHERE status = 'cancelled'
UNION ALL
SELECT status, count(*) FROM cloudinary_cleanup_queue
 WHERE status IN ('completed', 'skipped') GROUP BY status
""")
EVERY_ASSET = "every asset"  # the scope without MEDIASYNC_DELETE_SCOPE

_BREAKER = text("SELECT tripped_at, details FROM mediasync_delete_breaker")

# The recorded database against the current one (workers/cleanup/guard.py holds deletes
# when they differ). The cluster's identifier is compared only where both are readable.
_IDENTITY = text("""
SELECT i.database_name, i.database_oid, i.system_identifier, i.cloud_name, i.recorded_at,
       i.adopted_by, d.datname AS current_name,
       i.database_oid = d.oid AND i.database_name = d.datname AS same_database
  FROM mediasync_database_identity i, pg_database d
 WHERE d.datname = current_database()
""")


@dataclass(frozen=True)
class CleanupStatus:
    counts: dict[str, int]
    due: int
    oldest_pending_age_s: float | None
    stale_leases: int
    paused: bool
    paused_at: datetime | None
    paused_by: str | None
    pause_reason: str | None
    listeners: list[ListenerHeartbeat] = field(default_factory=list)
    # the mass-delete breaker: {"tripped", "tripped_at", "details"}
    breaker: dict[str, Any] = field(default_factory=dict)
    # the database deletes are allowed from: {"database_name", "matches", "adopted_by", …};
    # None when no identity is recorded (the next drain records this one)
    identity: dict[str, Any] | None = None
    scope: str | None = None  # None: status was not given the settings
    delay_s: int | None = None

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["paused_at"] = self.paused_at.isoformat() if self.paused_at else None
        values["listeners"] = [beat.as_dict() for beat in self.listeners]
        ready: dict[str, Any] = _json_ready(values)
        return ready


def status(session: Session, settings: Settings | None = None) -> CleanupStatus:
    """The queue, the pause, the guardrails; the scope and delay from `settings`."""
    counts = dict.fromkeys(STATUSES, 0)
    for name, count in session.execute(_STATUS_COUNTS):
        counts[name] = int(count)
    oldest = session.execute(
        text(
            "SELECT extract(epoch FROM now() - min(created_at))"
            " FROM cloudinary_cleanup_queue WHERE status = 'pending'"
        )
    ).scalar_one()
    stale = session.execute(
        text(
            "SELECT count(*) FROM cloudinary_cleanup_queue WHERE status = 'processing'"
            " AND locked_at < now() - make_interval(secs => :lease_s)"
        ),
        {"lease_s": cleanup_queue.LEASE_S},
    ).scalar_one()
    pause_row = session.execute(
        text(
            "SELECT paused_at, paused_by, reason FROM mediasync_pauses WHERE flow = :flow"
        ),
        {"flow": CLEANUP_FLOW},
    ).one_or_none()
    return CleanupStatus(
        counts=counts,
        due=cleanup_queue.due_count(session),
        oldest_pending_age_s=float(oldest) if oldest is not None else None,
        stale_leases=int(stale),
        paused=pause_row is not None,
        paused_at=pause_row[0] if pause_row else None,
        paused_by=pause_row[1] if pause_row else None,
        pause_reason=pause_row[2] if pause_row else None,
        listeners=listener_heartbeats(session),
        breaker=_breaker(session),
        identity=_identity(session, settings),
        scope=_scope(settings),
        delay_s=settings.delete_delay_s if settings else None,
    )


def _breaker(session: Session) -> dict[str, Any]:
    found = session.execute(_BREAKER).one_or_none()
    tripped_at = found.tripped_at if found else None
    return {
        "tripped": tripped_at is not None,
        "tripped_at": tripped_at,
        "details": dict(found.details) if found and tripped_at else {},
    }


def _identity(session: Session, settings: Settings | None) -> dict[str, Any] | None:
    """The recorded identity and whether deletes may go out from here (the guard's own
    test, workers/cleanup/guard.py)."""
    found = session.execute(_IDENTITY).mappings().one_or_none()
    if found is None:
        return None
    cloud_name = (
        settings.cloudinary.cloud_name if settings and settings.cloudinary else None
    )
    problem = guard.identity_mismatch(session, cloud_name)
    recorded = {k: v for k, v in found.items() if k != "same_database"}
    recorded["database_oid"] = int(recorded["database_oid"])
    return recorded | {"matches": problem is None, "problem": problem}


def _scope(settings: Settings | None) -> str | None:
    if settings is None:
        return None
    scope = settings.delete_scope
    return scope.describe() if scope is not None else EVERY_ASSET


def _json_ready(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    return value


class NotRetryable(Exception):
    """Some ids given to retry_failed name no queue row, or a row that has not failed:
    nothing was requeued (an operator's typo must not pass for success)."""

    def __init__(self, unknown: list[int], not_failed: dict[int, str]) -> None:
        self.unknown = unknown
        self.not_failed = not_failed
        parts = []
        if unknown:
            parts.append(f"no cleanup queue row with id {_listed(unknown)}")
        parts += [
            f"row {i} is {status}, not failed" for i, status in not_failed.items()
        ]
        super().__init__("; ".join(parts) + "; nothing was requeued")


def _listed(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids)


_STATUS_OF = text(
    "SELECT id, status FROM cloudinary_cleanup_queue WHERE id = ANY(:ids) FOR UPDATE"
)


def retry_failed(session: Session, ids: Sequence[int] | None = None) -> list[int]:
    """Put failed rows (all of them, or those of `ids`) back to pending with fresh attempts.

    With `ids`, every one must name a failed row, else NotRetryable and nothing changes."""
    if ids:
        found = {
            int(i): str(s) for i, s in session.execute(_STATUS_OF, {"ids": list(ids)})
        }
        unknown = sorted({i for i in ids if i not in found})
        not_failed = {i: s for i, s in sorted(found.items()) if s != "failed"}
        if unknown or not_failed:
            raise NotRetryable(unknown, not_failed)
    rows = session.execute(
        text(
            "UPDATE cloudinary_cleanup_queue SET status = 'pending', attempts = 0,"
            " next_attempt_at = now(), locked_at = NULL, locked_by = NULL,"
            " updated_at = now()"
            " WHERE status = 'failed' AND (CAST(:every AS boolean) OR id = ANY(:ids))"
            " RETURNING id, public_id, asset_id, last_error"
        ),
        {"every": not ids, "ids": list(ids or [])},
    ).all()
    if rows:
        session.execute(
            text(
                "INSERT INTO media_sync_log (operation, status, public_id, asset_id,"
                " source, details) SELECT 'cleanup', 'requeued', u.public_id, u.asset_id,"
                " 'operator', jsonb_build_object('queue_id', u.id, 'last_error', u.error)"
                " FROM unnest(CAST(:ids AS bigint[]), CAST(:pids AS text[]),"
                " CAST(:aids AS text[]), CAST(:errors AS text[]))"
                " AS u(id, public_id, asset_id, error)"
            ),
            {
                "ids": [r[0] for r in rows],
                "pids": [r[1] for r in rows],
                "aids": [r[2] for r in rows],
                "errors": [r[3] for r in rows],
            },
        )
    return sorted(int(r[0]) for r in rows)
