"""media_assets row operations for the apply: find, lock, upsert without regressing, tombstone.

Every function runs inside the apply batch's transaction, after it ran
`SET LOCAL mediasync.origin = 'cloudinary'`: tombstoning a row here records a deletion
Cloudinary already made, so the delete triggers queue nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, text
from sqlalchemy.orm import Session

from db.models import CleanupQueueItem, MediaAsset
from workers.events import Identity


@dataclass(frozen=True)
class Outcome:
    """What one event did to one asset; one media_sync_log row each."""

    status: str  # applied | stale | needs_refresh | recorded | ignored
    public_id: str | None = None
    asset_id: str | None = None
    detail: str | None = None


def lock(session: Session, *identities: Identity | None) -> None:
    """Serialize work on these identities until the batch commits (inserts race otherwise)."""
    # sorted, so two batches touching the same pair cannot take them in opposite orders
    for key in sorted({i.lock_key for i in identities if i is not None}):
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": key},
        )


def live_by_identity(session: Session, identity: Identity) -> MediaAsset | None:
    return session.scalars(
        select(MediaAsset)
        .where(
            MediaAsset.public_id == identity.public_id,
            MediaAsset.resource_type == identity.resource_type,
            MediaAsset.delivery_type == identity.delivery_type,
            MediaAsset.deleted_at.is_(None),
        )
        .with_for_update()
    ).first()


def live_by_asset_id(session: Session, asset_id: str | None) -> MediaAsset | None:
    if asset_id is None:
        return None
    return session.scalars(
        select(MediaAsset)
        .where(MediaAsset.asset_id == asset_id, MediaAsset.deleted_at.is_(None))
        .order_by(MediaAsset.id)
        .with_for_update()
    ).first()


def find_live(
    session: Session, asset_id: str | None, identity: Identity | None
) -> MediaAsset | None:
    """The live row, by the immutable asset_id first (it survives renames)."""
    row = live_by_asset_id(session, asset_id)
    if row is None and identity is not None:
        row = live_by_identity(session, identity)
    return row


def newest_tombstone(
    session: Session, asset_id: str | None, identity: Identity
) -> MediaAsset | None:
    same_asset: list[ColumnElement[bool]] = [
        (MediaAsset.public_id == identity.public_id)
        & (MediaAsset.resource_type == identity.resource_type)
        & (MediaAsset.delivery_type == identity.delivery_type)
    ]
    if asset_id is not None:
        same_asset.append(MediaAsset.asset_id == asset_id)
    return session.scalars(
        select(MediaAsset)
        .where(or_(*same_asset), MediaAsset.deleted_at.is_not(None))
        .order_by(
            func.coalesce(MediaAsset.version, 0).desc(), MediaAsset.deleted_at.desc()
        )
        .limit(1)
        .with_for_update()
    ).first()


def deleted_here(
    session: Session,
    asset_id: str | None,
    identity: Identity,
    version: int | None,
    event_at: datetime,
) -> bool:
    """Whether this database deleted that asset version (a hard delete leaves no tombstone,
    only its cleanup queue row)."""
    same_asset: list[ColumnElement[bool]] = [
        (CleanupQueueItem.public_id == identity.public_id)
        & (CleanupQueueItem.resource_type == identity.resource_type)
        & (CleanupQueueItem.delivery_type == identity.delivery_type)
    ]
    if asset_id is not None:
        same_asset.append(CleanupQueueItem.asset_id == asset_id)
    newer = (
        CleanupQueueItem.version >= version
        if version is not None
        else CleanupQueueItem.created_at >= event_at
    )
    # `skipped` means the row was restored before the cleanup ran: not deleted after all
    query = select(CleanupQueueItem.id).where(
        or_(*same_asset), CleanupQueueItem.status != "skipped", newer
    )
    return session.scalars(query.limit(1)).first() is not None


def is_older(row: MediaAsset, version: int | None, event_at: datetime) -> bool:
    """An event older than the row's state: a lower version, or the same (or unknown)
    version made before the row's newest applied event."""
    if version is not None and row.version is not None and version != row.version:
        return version < row.version
    return row.last_event_at is not None and event_at < row.last_event_at


def is_after_deletion(
    tombstone: MediaAsset, version: int | None, event_at: datetime
) -> bool:
    """A re-upload made after the asset was deleted (a new version) brings it back."""
    if version is not None and tombstone.version is not None:
        return version > tombstone.version
    deleted = [t for t in (tombstone.last_event_at, tombstone.deleted_at) if t]
    return bool(deleted) and event_at > max(deleted)


def upsert(
    session: Session,
    identity: Identity,
    columns: Mapping[str, Any],
    event_at: datetime,
    now: datetime,
) -> Outcome:
    """Make `columns` (a full asset state) the live row, unless the row is newer or the
    asset was deleted after this state (then the event is stale)."""
    asset_id = columns.get("asset_id")
    version = columns.get("version")
    lock(session, identity)
    row = live_by_identity(session, identity) or live_by_asset_id(session, asset_id)
    if row is not None:
        if is_older(row, version, event_at):
            return Outcome("stale", identity.public_id, asset_id, "newer state held")
        _assign(row, columns, event_at, now)
        return Outcome("applied", identity.public_id, asset_id)
    tombstone = newest_tombstone(session, asset_id, identity)
    if tombstone is not None and not is_after_deletion(tombstone, version, event_at):
        return Outcome("stale", identity.public_id, asset_id, "deleted later")
    if deleted_here(session, asset_id, identity, version, event_at):
        return Outcome("stale", identity.public_id, asset_id, "deleted here later")
    if tombstone is not None:
        # Reviving fires the restore trigger, which cancels a cleanup still pending for
        # this identity: the new upload must not be deleted by it.
        tombstone.deleted_at = None
        _assign(tombstone, columns, event_at, now)
        return Outcome("applied", identity.public_id, asset_id, "revived")
    row = MediaAsset(
        public_id=identity.public_id,
        resource_type=identity.resource_type,
        delivery_type=identity.delivery_type,
    )
    _assign(row, columns, event_at, now)
    session.add(row)
    return Outcome("applied", identity.public_id, asset_id, "created")


def tombstone(row: MediaAsset, event_at: datetime, now: datetime) -> None:
    """Mark a row deleted by Cloudinary (the batch's SET LOCAL keeps the trigger quiet)."""
    row.deleted_at = now
    touch(row, event_at, now)


def touch(row: MediaAsset, event_at: datetime, now: datetime) -> None:
    """Record that the row now reflects Cloudinary as of `event_at`."""
    if row.last_event_at is None or event_at > row.last_event_at:
        row.last_event_at = event_at
    row.sync_status = "synced"
    row.synced_at = now
    row.updated_at = now


def mark_needs_refresh(
    session: Session, asset_id: str | None, identity: Identity | None
) -> None:
    row = find_live(session, asset_id, identity)
    if row is not None:
        row.sync_status = "needs_refresh"


def _assign(
    row: MediaAsset, columns: Mapping[str, Any], event_at: datetime, now: datetime
) -> None:
    for name, value in columns.items():
        setattr(row, name, value)
    touch(row, event_at, now)
