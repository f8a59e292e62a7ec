"""The cloudinary_cleanup_queue statements: claim, lease, record outcomes, reclaim, purge.

Functions take a Session and never commit; the caller owns each transaction. Claims and
outcome writes are set-based (one statement per batch) so that a 10,000-row burst costs a
few hundred statements, not tens of thousands.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from workers import pauses, sql
from workers.cleanup import guard

# A drain renews the lease of the batch it holds every RENEW_S (workers/cleanup/drain.py), so a
# lease not renewed for LEASE_S means its worker died (or lost the database): the rows go
# back to pending within seconds, not after the longest Cloudinary call could take.
LEASE_S = 10.0
RENEW_S = 3.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# delete_resources accepts at most 100 public_ids per call.
ADMIN_BATCH = 100

_QUERIES = sql.load("workers.cleanup")  # workers/cleanup/queries.sql
_CLAIM = text(_QUERIES["claim_batch"])

# Claims take turns (the lock is held only until the claiming transaction commits, a few
# milliseconds): two workers claiming side by side under SKIP LOCKED would otherwise split
# the last rows of a backlog into two part-full batches, one Cloudinary call more than needed.
_CLAIM_TURN = text(
    "SELECT pg_advisory_xact_lock(hashtextextended('mediasync.cleanup.claim', 0))"
)

_LIVE = text("""
SELECT DISTINCT public_id FROM media_assets
 WHERE deleted_at IS NULL AND resource_type = :resource_type
   AND delivery_type = :delivery_type AND public_id = ANY(:public_ids)
""")

_RECORD = text(_QUERIES["record_outcomes"])
_LOG = text(_QUERIES["log_outcomes"])

_RENEW = text("""
UPDATE cloudinary_cleanup_queue SET locked_at = now()
 WHERE id = ANY(CAST(:ids AS bigint[])) AND status = 'processing' AND locked_by = :token
""")

# The Admin budget is spent and comes back soon: due rows wait for the reset (no attempt
# spent), so sweeps and listener catch-ups do not wake drains that could only wait too.
_POSTPONE = text("""
UPDATE cloudinary_cleanup_queue
   SET next_attempt_at = :at, updated_at = now()
 WHERE status = 'pending' AND next_attempt_at < :at
""")

_RELEASE = text("""
UPDATE cloudinary_cleanup_queue
   SET status = 'pending', locked_at = NULL, locked_by = NULL, updated_at = now()
 WHERE status = 'processing' AND locked_by = :token
""")

# A dead worker's rows go back to pending, and the lost attempt counts: a row that kills
# its worker every time must end in `failed`, not loop forever.
_RECLAIM = text("""
UPDATE cloudinary_cleanup_queue
   SET status = CASE WHEN attempts + 1 >= max_attempts THEN 'failed' ELSE 'pending' END,
       attempts = attempts + 1,
       last_error = 'lease expired: worker ' || coalesce(locked_by, '?') || ' stopped answering',
       next_attempt_at = now(), locked_at = NULL, locked_by = NULL, updated_at = now()
 WHERE status = 'processing'
   AND locked_at < now() - make_interval(secs => :lease_s)
RETURNING id, status
""")

_DUE = text("""
SELECT count(*) FROM (
    SELECT 1 FROM cloudinary_cleanup_queue
     WHERE status = 'pending' AND next_attempt_at <= now()
     LIMIT :cap
) due
""")

# (cancelled: an operator restored the row; rare, so outside the finished rows' index)
_PURGE = text("""
DELETE FROM cloudinary_cleanup_queue
 WHERE status IN ('completed', 'skipped', 'cancelled')
   AND completed_at < now() - make_interval(days => :days)
""")

_SOURCES = {"operator": "operator", "reconcile": "reconcile"}


@dataclass(frozen=True)
class ClaimedRow:
    id: int
    media_asset_id: int | None
    asset_id: str | None
    public_id: str
    resource_type: str
    delivery_type: str
    reason: str
    attempts: int
    max_attempts: int
    # the row's folder and tags when it was deleted (MEDIASYNC_DELETE_SCOPE)
    folder: str | None = None
    tags: tuple[str, ...] | None = None

    @property
    def source(self) -> str:
        """media_sync_log's source: deletes made by the host app come from the trigger."""
        return _SOURCES.get(self.reason, "trigger")


@dataclass(frozen=True)
class DeleteOutcome:
    """What one attempt on one row came to: the queue's new state and the audit entry."""

    row: ClaimedRow
    status: str  # the queue status: completed, skipped, pending (retry) or failed
    result: (
        str  # the log status: deleted, not_found, skipped, rate_limited, error, failed
    )
    attempt_inc: int = 1
    next_attempt_at: datetime | None = None
    error: str | None = None
    response: dict[str, Any] | None = None
    duration_ms: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


def claim(
    session: Session,
    token: str,
    limit: int,
    admission: guard.Admission | None = None,
) -> list[ClaimedRow]:
    """Lease up to `limit` due rows of one (resource_type, delivery_type) that the
    guardrails admit (workers/cleanup/guard.py; None: every due row).

    Claims take turns, so each takes every unheld due row of its group up to `limit`, and a
    backlog of N rows costs ceil(N / limit) calls to Cloudinary, however many workers drain it.
    """
    session.execute(_CLAIM_TURN)
    admission = admission or guard.Admission()
    rows = session.execute(
        _CLAIM,
        {
            "token": token,
            "limit": limit,
            "delay_s": admission.delay_s,
            "tripped": admission.tripped,
            # None: no bound (bigint's largest; then `since` does not matter)
            "max_id": admission.max_id if admission.max_id is not None else 2**63 - 1,
            "since": admission.since or _EPOCH,
        },
    )
    claimed = [
        ClaimedRow(
            row.id,
            row.media_asset_id,
            row.asset_id,
            row.public_id,
            row.resource_type,
            row.delivery_type,
            row.reason,
            row.attempts,
            row.max_attempts,
            folder=row.folder,
            tags=tuple(row.tags or ()),
        )
        for row in rows
    ]
    return sorted(claimed, key=lambda r: r.id)


def take_turn(session: Session) -> None:
    """Wait for this transaction's turn to claim (held until it ends): the guardrails'
    checks and the claim they admit then see no other claim in between."""
    session.execute(_CLAIM_TURN)


def live_public_ids(session: Session, rows: Sequence[ClaimedRow]) -> set[str]:
    """Which of these identities have a live mirror row again (re-uploaded since)."""
    if not rows:
        return set()
    head = rows[0]
    found = session.execute(
        _LIVE,
        {
            "resource_type": head.resource_type,
            "delivery_type": head.delivery_type,
            "public_ids": sorted({r.public_id for r in rows}),
        },
    )
    return {public_id for (public_id,) in found}


def record(session: Session, token: str, outcomes: Sequence[DeleteOutcome]) -> set[int]:
    """Write outcomes and their audit rows; return the ids whose lease was still ours."""
    if not outcomes:
        return set()
    updated = session.execute(
        _RECORD,
        {
            "token": token,
            "ids": [o.row.id for o in outcomes],
            "statuses": [o.status for o in outcomes],
            "incs": [o.attempt_inc for o in outcomes],
            "nexts": [
                o.next_attempt_at.isoformat() if o.next_attempt_at else None
                for o in outcomes
            ],
            "errors": [o.error for o in outcomes],
            "responses": [
                json.dumps(o.response) if o.response is not None else None
                for o in outcomes
            ],
        },
    )
    session.execute(
        _LOG,
        {
            "statuses": [o.result for o in outcomes],
            "public_ids": [o.row.public_id for o in outcomes],
            "asset_ids": [o.row.asset_id for o in outcomes],
            "sources": [o.row.source for o in outcomes],
            "errors": [o.error for o in outcomes],
            "durations": [o.duration_ms for o in outcomes],
            "details": [json.dumps(_log_details(o)) for o in outcomes],
        },
    )
    return {row_id for (row_id,) in updated}


def _log_details(outcome: DeleteOutcome) -> dict[str, Any]:
    row = outcome.row
    return {
        "queue_id": row.id,
        "reason": row.reason,
        "resource_type": row.resource_type,
        "delivery_type": row.delivery_type,
        "attempt": row.attempts + outcome.attempt_inc,
        "queue_status": outcome.status,
        "answer": outcome.response,
        **outcome.details,
    }


def renew(session: Session, token: str, ids: Sequence[int]) -> int:
    """Extend the lease of rows still being worked on; how many were still ours."""
    result = session.execute(_RENEW, {"token": token, "ids": list(ids)})
    return int(result.rowcount)  # type: ignore[attr-defined]  # DML results have rowcount


def postpone_due(session: Session, at: datetime) -> int:
    """Move every pending row due before `at` to `at`; how many moved."""
    result = session.execute(_POSTPONE, {"at": at})
    return int(result.rowcount)  # type: ignore[attr-defined]  # DML results have rowcount


def release(session: Session, token: str) -> None:
    """Hand back claimed rows untouched (the worker is stopping or paused mid-claim)."""
    session.execute(_RELEASE, {"token": token})


def reclaim_stale(session: Session, lease_s: float = LEASE_S) -> dict[str, int]:
    """Return rows of workers that died mid-batch to pending; counts by new status."""
    counts = {"pending": 0, "failed": 0}
    for _id, status in session.execute(_RECLAIM, {"lease_s": lease_s}):
        counts[status] += 1
    return counts


def due_count(session: Session, cap: int = 100_000) -> int:
    """Pending rows whose time has come (counted up to `cap`)."""
    return int(session.execute(_DUE, {"cap": cap}).scalar_one())


@dataclass(frozen=True)
class SweepResult:
    reclaimed: int
    dead_lettered: int
    due: int
    paused: bool


def sweep(session: Session, lease_s: float = LEASE_S) -> SweepResult:
    """Reclaim dead workers' leases and count what is due; the caller enqueues drains."""
    reclaimed = reclaim_stale(session, lease_s)
    return SweepResult(
        reclaimed=reclaimed["pending"],
        dead_lettered=reclaimed["failed"],
        due=due_count(session),
        paused=pauses.is_paused(session),
    )


def purge(session: Session, days: int) -> int:
    """Delete finished rows older than `days` (their audit trail stays in media_sync_log)."""
    result = session.execute(_PURGE, {"days": days})
    return int(result.rowcount)  # type: ignore[attr-defined]  # DML results have rowcount


def drains_for(due: int, parallel: int = 4, batch_size: int = ADMIN_BATCH) -> int:
    """How many drain tasks to send for `due` rows: enough for parallel workers, no more.

    Each drain loops until nothing is due, so one suffices for correctness; a few let
    several workers share a burst. Thousands would only be no-ops on the broker.
    """
    if due <= 0:
        return 0
    return max(1, min(parallel, -(-due // batch_size)))
