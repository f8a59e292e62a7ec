"""Operator queries: the media listing, media stats, the operator soft delete, and the
sync gauges' one-round-trip snapshot.

Plain functions over a Session (the operator API and /metrics call them); none commits.
Listings page by keyset on `id`, newest first: the caller passes the last id it showed
(the inbox, cleanup and audit listings are in listings.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from db.models import MediaAsset, WebhookInbox
from workers.cleanup.listener import HEARTBEAT_PREFIX
from workers.heartbeats import CANARY
from workers.reconcile.report import CLASSES

MEDIA_STATUSES = ("live", "deleted", "all")
INBOX_STATUSES = ("pending", "applied", "ignored", "failed", "all")
# The classes a run changed something in (or failed on): what "drift" means on /metrics.
DRIFT_CLASSES = tuple(name for name in CLASSES if name != "unchanged")

_MEDIA_COLUMNS = (
    "id",
    "asset_id",
    "public_id",
    "resource_type",
    "delivery_type",
    "version",
    "format",
    "bytes",
    "width",
    "height",
    "duration",
    "folder",
    "display_name",
    "tags",
    "context",
    "secure_url",
    "etag",
    "cloudinary_created_at",
    "created_at",
    "updated_at",
    "deleted_at",
    "sync_status",
    "synced_at",
    "moderation_status",
    "moderation_kind",
    "access_mode",
    "access_control",
)


@dataclass(frozen=True)
class MediaFilter:
    search: str | None = None
    resource_type: str | None = None
    folder: str | None = None
    tag: str | None = None
    status: str = "live"
    prefix: str | None = None  # public_id starts with it
    public_id: str | None = None  # exactly this public_id


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    # the id to continue after, when there may be more
    last_id: int | None


def list_media(
    session: Session, where: MediaFilter, *, limit: int, after_id: int | None
) -> Page:
    """One page of mirror rows, newest id first."""
    query = select(MediaAsset).order_by(MediaAsset.id.desc()).limit(limit + 1)
    if where.status == "live":
        query = query.where(MediaAsset.deleted_at.is_(None))
    elif where.status == "deleted":
        query = query.where(MediaAsset.deleted_at.is_not(None))
    if where.search:
        query = query.where(
            or_(
                MediaAsset.public_id.icontains(where.search, autoescape=True),
                MediaAsset.display_name.icontains(where.search, autoescape=True),
            )
        )
    if where.prefix:
        query = query.where(
            MediaAsset.public_id.startswith(where.prefix, autoescape=True)
        )
    if where.public_id is not None:
        query = query.where(MediaAsset.public_id == where.public_id)
    if where.resource_type:
        query = query.where(MediaAsset.resource_type == where.resource_type)
    if where.folder is not None:
        query = query.where(MediaAsset.folder == where.folder)
    if where.tag:
        # tags @> ARRAY[tag]: the GIN index answers it
        query = query.where(MediaAsset.tags.contains([where.tag]))
    if after_id is not None:
        query = query.where(MediaAsset.id < after_id)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        [_media_json(row) for row in rows], rows[-1].id if more and rows else None
    )


def _media_json(row: MediaAsset) -> dict[str, Any]:
    item = {name: _plain(getattr(row, name)) for name in _MEDIA_COLUMNS}
    item["metadata"] = row.metadata_
    return item


def media_stats(session: Session) -> dict[str, Any]:
    """Live totals by resource_type, live rows by sync_status, live and deleted counts."""
    by_type = {
        resource_type: {"count": int(count), "bytes": int(total or 0)}
        for resource_type, count, total in session.execute(
            select(MediaAsset.resource_type, func.count(), func.sum(MediaAsset.bytes))
            .where(MediaAsset.deleted_at.is_(None))
            .group_by(MediaAsset.resource_type)
            .order_by(MediaAsset.resource_type)
        )
    }
    by_sync_status = {
        status: int(count)
        for status, count in session.execute(
            select(MediaAsset.sync_status, func.count())
            .where(MediaAsset.deleted_at.is_(None))
            .group_by(MediaAsset.sync_status)
            .order_by(MediaAsset.sync_status)
        )
    }
    live, deleted = session.execute(
        select(
            func.count().filter(MediaAsset.deleted_at.is_(None)),
            func.count().filter(MediaAsset.deleted_at.is_not(None)),
        )
    ).one()
    return {
        "by_resource_type": by_type,
        "by_sync_status": by_sync_status,
        "live": int(live),
        "deleted": int(deleted),
    }


_SOFT_DELETE = text("""
UPDATE media_assets SET deleted_at = now(), updated_at = now()
 WHERE deleted_at IS NULL AND resource_type = :resource_type
   AND delivery_type = :delivery_type AND public_id = ANY(:public_ids)
RETURNING id, public_id, asset_id
""")

_LOG_DELETES = text("""
INSERT INTO media_sync_log (operation, status, public_id, asset_id, source, details)
SELECT 'delete', 'requested', u.public_id, u.asset_id, 'operator',
       jsonb_build_object('media_asset_id', u.id, 'requested_by', CAST(:by AS text))
  FROM unnest(CAST(:ids AS bigint[]), CAST(:pids AS text[]), CAST(:aids AS text[]))
       AS u(id, public_id, asset_id)
""")


def soft_delete_media(
    session: Session,
    public_ids: Sequence[str],
    *,
    resource_type: str = "image",
    delivery_type: str = "upload",
    by: str | None = None,
) -> list[str]:
    """Mark these live rows deleted (the trigger queues their cleanup and NOTIFYs on
    commit); the public_ids that had a live row, in the order given."""
    rows = session.execute(
        _SOFT_DELETE,
        {
            "resource_type": resource_type,
            "delivery_type": delivery_type,
            "public_ids": list(public_ids),
        },
    ).all()
    if rows:
        session.execute(
            _LOG_DELETES,
            {
                "ids": [r[0] for r in rows],
                "pids": [r[1] for r in rows],
                "aids": [r[2] for r in rows],
                "by": by,
            },
        )
    found = {r[1] for r in rows}
    return [public_id for public_id in public_ids if public_id in found]


def inbox_status(session: Session, inbox_id: int) -> str | None:
    """The row's status, or None when there is no such row."""
    return session.scalar(
        select(WebhookInbox.status).where(WebhookInbox.id == inbox_id)
    )


def reconcile_active(session: Session) -> list[dict[str, Any]]:
    """Runs not finished yet (running, or paused until a reset or an operator)."""
    rows = session.execute(
        text(
            "SELECT id, kind, status, dry_run FROM reconcile_runs"
            " WHERE status IN ('running', 'paused') ORDER BY id"
        )
    ).mappings()
    return [
        {
            "run_id": r["id"],
            "kind": r["kind"],
            "status": r["status"],
            "dry_run": r["dry_run"],
        }
        for r in rows
    ]


# One round trip, each part answered by an index (partial indexes on the queue statuses,
# primary keys elsewhere): a scrape every 15 s from every receiver pod stays cheap.
_SNAPSHOT = text("""
SELECT
  (SELECT count(*) FROM webhook_inbox WHERE status = 'pending') AS inbox_pending,
  (SELECT count(*) FROM webhook_inbox WHERE status = 'failed') AS inbox_failed,
  (SELECT extract(epoch FROM now() - min(next_attempt_at)) FROM webhook_inbox
    WHERE status = 'pending' AND next_attempt_at <= now()) AS inbox_oldest_due_s,
  (SELECT count(*) FROM cloudinary_cleanup_queue WHERE status = 'pending')
    AS cleanup_pending,
  (SELECT count(*) FROM cloudinary_cleanup_queue WHERE status = 'failed')
    AS cleanup_failed,
  (SELECT extract(epoch FROM now() - min(created_at)) FROM cloudinary_cleanup_queue
    WHERE status = 'pending') AS cleanup_oldest_pending_s,
  EXISTS (SELECT 1 FROM mediasync_pauses WHERE flow = 'cleanup') AS cleanup_paused,
  (SELECT count(*) FROM cloudinary_cleanup_queue WHERE status = 'held') AS cleanup_held,
  EXISTS (SELECT 1 FROM mediasync_delete_breaker WHERE tripped_at IS NOT NULL)
    AS cleanup_breaker_tripped,
  (SELECT min(extract(epoch FROM now() - last_seen)) FROM mediasync_heartbeats
    WHERE name LIKE :listener_prefix) AS listener_age_s,
  (SELECT extract(epoch FROM now() - last_seen) FROM mediasync_heartbeats
    WHERE name = :canary) AS canary_age_s,
  (SELECT extract(epoch FROM finished_at) FROM reconcile_runs
    WHERE kind = 'full' AND status = 'finished' AND NOT dry_run
    ORDER BY id DESC LIMIT 1) AS full_reconcile_finished_at,
  (SELECT counts FROM reconcile_runs
    WHERE kind <> 'single' AND status = 'finished'
    ORDER BY id DESC LIMIT 1) AS last_run_counts
""")


@dataclass(frozen=True)
class SyncSnapshot:
    inbox_pending: int
    inbox_failed: int
    # seconds the oldest due row has waited; 0 when none is due
    inbox_oldest_due_s: float
    cleanup_pending: int
    cleanup_failed: int
    # seconds since the oldest pending row was queued (backoff and rate-limit waits
    # included: a delete held back that long is what the alert is for); 0 when none
    cleanup_oldest_pending_s: float
    cleanup_paused: bool
    # rows a delete guardrail holds for an operator (workers/cleanup/guard.py): the
    # mass-delete breaker, or a database not adopted
    cleanup_held: int
    cleanup_breaker_tripped: bool
    # the freshest listener's age (one live listener is enough); inf when none reported
    listener_age_s: float
    canary_age_s: float
    # Unix time the last full, writing reconcile finished; 0 when none ever has
    full_reconcile_finished_at: float
    drift: dict[str, int]


def sync_snapshot(session: Session) -> SyncSnapshot:
    row = (
        session.execute(
            _SNAPSHOT,
            {"listener_prefix": HEARTBEAT_PREFIX + "%", "canary": CANARY},
        )
        .mappings()
        .one()
    )
    counts: dict[str, Any] = row["last_run_counts"] or {}
    return SyncSnapshot(
        inbox_pending=int(row["inbox_pending"]),
        inbox_failed=int(row["inbox_failed"]),
        inbox_oldest_due_s=_seconds(row["inbox_oldest_due_s"], 0.0),
        cleanup_pending=int(row["cleanup_pending"]),
        cleanup_failed=int(row["cleanup_failed"]),
        cleanup_oldest_pending_s=_seconds(row["cleanup_oldest_pending_s"], 0.0),
        cleanup_paused=bool(row["cleanup_paused"]),
        cleanup_held=int(row["cleanup_held"]),
        cleanup_breaker_tripped=bool(row["cleanup_breaker_tripped"]),
        listener_age_s=_seconds(row["listener_age_s"], math.inf),
        canary_age_s=_seconds(row["canary_age_s"], math.inf),
        full_reconcile_finished_at=_seconds(row["full_reconcile_finished_at"], 0.0),
        drift={name: int(counts.get(name, 0)) for name in DRIFT_CLASSES},
    )


def _seconds(value: Any, default: float) -> float:
    # a clock step can make "now - then" slightly negative; an age is never below 0
    return default if value is None else max(0.0, float(value))


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
