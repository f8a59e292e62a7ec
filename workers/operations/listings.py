"""Filtered listings of the work tables, and the bulk retries chosen by the same filters.

The operator API and the console both read the inbox, the cleanup queue and the audit log
through these: one filter, one query, whether it lists a page, counts a bulk action's
preview, or selects the rows that action touches. Pages are keyset-paged on `id`, newest
first (the caller passes the last id it showed). Functions take a Session, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, select, text, true
from sqlalchemy.orm import Session

from db.models import CleanupQueueItem, SyncLogEntry, WebhookInbox
from workers.inbox import queue as inbox_queue
from workers.operations import cleanup as cleanup_ops

INBOX_STATUSES = (*inbox_queue.STATUSES, "all")
CLEANUP_STATUSES = (*cleanup_ops.STATUSES, "all")
# the most rows one bulk action touches (a preview says when a filter matches more)
MAX_BULK = 10_000


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    # the id to continue after, when there may be more
    last_id: int | None


@dataclass(frozen=True)
class InboxFilter:
    status: str = "all"
    notification_type: str | None = None
    public_id_prefix: str | None = None
    since: datetime | None = None  # received at or after
    until: datetime | None = None  # received before


@dataclass(frozen=True)
class CleanupFilter:
    status: str = "all"
    reason: str | None = None
    public_id_prefix: str | None = None
    since: datetime | None = None  # queued at or after
    until: datetime | None = None  # queued before


@dataclass(frozen=True)
class LogFilter:
    operation: str | None = (
        None  # a prefix: "cleanup" finds cleanup.breaker_tripped too
    )
    status: str | None = None
    source: str | None = None
    public_id_prefix: str | None = None
    actor: str | None = None  # details->>'operator' (who acted in the console)
    since: datetime | None = None
    until: datetime | None = None


F = TypeVar("F", "InboxFilter", "CleanupFilter")


@dataclass(frozen=True)
class BulkPreview:
    count: int  # rows the action would touch now (at most MAX_BULK)
    matching: int  # rows the filter matches
    upto_id: int | None  # the action touches no row newer than the preview saw


# -- the inbox ---------------------------------------------------------------------------


def _inbox_where(where: InboxFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if where.status != "all":
        clauses.append(WebhookInbox.status == where.status)
    if where.notification_type:
        clauses.append(WebhookInbox.notification_type == where.notification_type)
    if where.public_id_prefix:
        clauses.append(_names_prefix(where.public_id_prefix))
    if where.since is not None:
        clauses.append(WebhookInbox.received_at >= where.since)
    if where.until is not None:
        clauses.append(WebhookInbox.received_at < where.until)
    return clauses


INDEXED_NAME_CHARS = 512  # webhook_inbox_public_id indexes this much of the name (0012)

# Notifications name assets at the top level (upload; rename's both names) or in
# `resources`, a list of objects or an object keyed by public_id (reference/cloudinary.md).
# Spelled so that both halves are indexed (db/migrations/0012_console_indexes.sql): the
# top-level name by webhook_inbox_public_id, the rows naming assets elsewhere by the
# partial webhook_inbox_names_elsewhere (its predicate is the `?|` below, verbatim).
_NAMES_LIKE = text("""
((left(webhook_inbox.body->>'public_id', 512) LIKE :names_head ESCAPE '\\'
  AND (webhook_inbox.body->>'public_id') LIKE :names_like ESCAPE '\\')
 OR (webhook_inbox.body ?| ARRAY['from_public_id', 'to_public_id', 'resources'] AND (
    (webhook_inbox.body->>'from_public_id') LIKE :names_like ESCAPE '\\'
    OR (webhook_inbox.body->>'to_public_id') LIKE :names_like ESCAPE '\\'
    OR EXISTS (SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof(webhook_inbox.body->'resources')
                  WHEN 'array' THEN webhook_inbox.body->'resources' ELSE CAST('[]' AS jsonb) END) r
                WHERE r->>'public_id' LIKE :names_like ESCAPE '\\')
    OR EXISTS (SELECT 1 FROM jsonb_object_keys(CASE jsonb_typeof(webhook_inbox.body->'resources')
                  WHEN 'object' THEN webhook_inbox.body->'resources' ELSE CAST('{}' AS jsonb) END) k
                WHERE k LIKE :names_like ESCAPE '\\'))))
""")


def _names_prefix(prefix: str) -> ColumnElement[bool]:
    """The notification names an asset whose public_id starts with `prefix`."""
    return and_(
        true(),
        _NAMES_LIKE.bindparams(
            # the index holds the first 512 characters (0012): its test is on as many
            names_head=_like_prefix(prefix[:INDEXED_NAME_CHARS]),
            names_like=_like_prefix(prefix),
        ),
    )


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_inbox(
    session: Session, where: InboxFilter, *, limit: int, after_id: int | None = None
) -> Page:
    """One page of webhook_inbox rows matching `where`, newest first."""
    query = select(WebhookInbox).where(*_inbox_where(where))
    # With a prefix, order by `id + 0`: the planner cannot estimate the `resources` half
    # and, guessing thousands of matches, would walk the primary key newest first through
    # the whole table; this way it finds the few matches through the two indexes.
    order = WebhookInbox.id + 0 if where.public_id_prefix else None
    rows = _page(session, query, WebhookInbox.id, limit, after_id, order=order)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page([inbox_row(row) for row in rows], _last(rows, more))


def inbox_row(row: WebhookInbox) -> dict[str, Any]:
    return {
        "id": row.id,
        "digest": row.digest,
        "notification_type": row.notification_type,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "received_at": _plain(row.received_at),
        "signed_at": _plain(row.signed_at),
        "next_attempt_at": _plain(row.next_attempt_at),
        "applied_at": _plain(row.applied_at),
        "body": row.body,
    }


def get_inbox(session: Session, inbox_id: int) -> dict[str, Any] | None:
    row = session.get(WebhookInbox, inbox_id)
    return inbox_row(row) if row is not None else None


def preview_inbox_retry(session: Session, where: InboxFilter) -> BulkPreview:
    """How many failed rows matching `where` a bulk retry would put back to pending."""
    return _preview(session, WebhookInbox, _inbox_where(_failed_only(where)))


def retry_inbox_matching(
    session: Session, where: InboxFilter, upto_id: int | None
) -> list[int]:
    """Put the failed rows matching `where` (none newer than `upto_id`, at most MAX_BULK)
    back to pending: the ids. The caller commits, then wakes the apply."""
    ids = _ids(session, WebhookInbox, _inbox_where(_failed_only(where)), upto_id)
    if ids:
        inbox_queue.retry_failed(session, ids)
    return ids


def _failed_only(where: F) -> F:
    return replace(where, status="failed")


# -- the cleanup queue -------------------------------------------------------------------


def _cleanup_where(where: CleanupFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if where.status != "all":
        clauses.append(CleanupQueueItem.status == where.status)
    if where.reason:
        clauses.append(CleanupQueueItem.reason == where.reason)
    if where.public_id_prefix:
        clauses.append(
            CleanupQueueItem.public_id.startswith(
                where.public_id_prefix, autoescape=True
            )
        )
    if where.since is not None:
        clauses.append(CleanupQueueItem.created_at >= where.since)
    if where.until is not None:
        clauses.append(CleanupQueueItem.created_at < where.until)
    return clauses


_CLEANUP_COLUMNS = (
    "id",
    "media_asset_id",
    "asset_id",
    "public_id",
    "resource_type",
    "delivery_type",
    "version",
    "reason",
    "status",
    "attempts",
    "max_attempts",
    "next_attempt_at",
    "locked_at",
    "locked_by",
    "last_error",
    "response",
    "created_at",
    "updated_at",
    "completed_at",
    "held_reason",
    "released_at",
    "released_by",
    "actor",
    "folder",
    "tags",
)


def cleanup_row(row: CleanupQueueItem) -> dict[str, Any]:
    return {name: _plain(getattr(row, name)) for name in _CLEANUP_COLUMNS}


def list_cleanups(
    session: Session, where: CleanupFilter, *, limit: int, after_id: int | None = None
) -> Page:
    """One page of cloudinary_cleanup_queue rows matching `where`, newest first."""
    query = select(CleanupQueueItem).where(*_cleanup_where(where))
    rows = _page(session, query, CleanupQueueItem.id, limit, after_id)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page([cleanup_row(row) for row in rows], _last(rows, more))


def get_cleanup(session: Session, queue_id: int) -> dict[str, Any] | None:
    row = session.get(CleanupQueueItem, queue_id)
    return cleanup_row(row) if row is not None else None


def preview_cleanup_retry(session: Session, where: CleanupFilter) -> BulkPreview:
    return _preview(session, CleanupQueueItem, _cleanup_where(_failed_only(where)))


def retry_cleanups_matching(
    session: Session, where: CleanupFilter, upto_id: int | None
) -> list[int]:
    """Requeue the failed cleanups matching `where` (none newer than `upto_id`, at most
    MAX_BULK) through cleanup_ops.retry_failed (which audits them): the ids."""
    ids = _ids(session, CleanupQueueItem, _cleanup_where(_failed_only(where)), upto_id)
    return cleanup_ops.retry_failed(session, ids) if ids else []


# -- the audit log -----------------------------------------------------------------------


def _log_where(where: LogFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if where.operation:
        clauses.append(
            SyncLogEntry.operation.startswith(where.operation, autoescape=True)
        )
    if where.status:
        clauses.append(SyncLogEntry.status == where.status)
    if where.source:
        clauses.append(SyncLogEntry.source == where.source)
    if where.public_id_prefix:
        clauses.append(
            SyncLogEntry.public_id.startswith(where.public_id_prefix, autoescape=True)
        )
    if where.actor:
        # console entries are the operator's (source 'operator', an indexed few)
        clauses.append(SyncLogEntry.source == "operator")
        clauses.append(SyncLogEntry.details["operator"].astext == where.actor)
    if where.since is not None:
        clauses.append(SyncLogEntry.created_at >= where.since)
    if where.until is not None:
        clauses.append(SyncLogEntry.created_at < where.until)
    return clauses


def list_sync_log(
    session: Session, where: LogFilter, *, limit: int, after_id: int | None = None
) -> Page:
    """One page of media_sync_log entries matching `where`, newest first."""
    query = select(SyncLogEntry).where(*_log_where(where))
    rows = _page(session, query, SyncLogEntry.id, limit, after_id)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {
            "id": row.id,
            "operation": row.operation,
            "status": row.status,
            "public_id": row.public_id,
            "asset_id": row.asset_id,
            "source": row.source,
            "error_message": row.error_message,
            "duration_ms": row.duration_ms,
            "details": row.details,
            "created_at": _plain(row.created_at),
        }
        for row in rows
    ]
    return Page(items, _last(rows, more))


# -- shared ------------------------------------------------------------------------------


def _page(
    session: Session,
    query: Select[Any],
    id_column: Any,
    limit: int,
    after_id: int | None,
    *,
    order: Any = None,
) -> list[Any]:
    if after_id is not None:
        query = query.where(id_column < after_id)
    newest_first = (id_column if order is None else order).desc()
    return list(session.scalars(query.order_by(newest_first).limit(limit + 1)))


def _preview(
    session: Session, model: Any, clauses: list[ColumnElement[bool]]
) -> BulkPreview:
    matching, upto = session.execute(
        select(func.count(), func.max(model.id)).where(and_(true(), *clauses))
    ).one()
    return BulkPreview(
        count=min(int(matching), MAX_BULK),
        matching=int(matching),
        upto_id=int(upto) if upto is not None else None,
    )


def _ids(
    session: Session,
    model: Any,
    clauses: list[ColumnElement[bool]],
    upto_id: int | None,
) -> list[int]:
    """The oldest MAX_BULK matching ids up to `upto_id` (None: nothing matched then)."""
    if upto_id is None:
        return []
    query = (
        select(model.id)
        .where(model.id <= upto_id, *clauses)
        .order_by(model.id)
        .limit(MAX_BULK)
    )
    return [int(i) for i in session.scalars(query)]


def _last(rows: list[Any], more: bool) -> int | None:
    return int(rows[-1].id) if more and rows else None


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
