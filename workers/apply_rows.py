"""media_assets row operations for the apply: upsert without regressing, tombstone, touch.

Rows are found through the batch's AssetStore (workers/asset_store.py). Every function runs
inside the apply batch's transaction, after it ran
`SET LOCAL mediasync.origin = 'cloudinary'`: tombstoning a row here records a deletion
Cloudinary already made, so the delete triggers queue nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workers.asset_row import AssetRow
from workers.asset_store import AssetStore
from workers.events import Identity


@dataclass(frozen=True)
class Outcome:
    """What one event did to one asset; one media_sync_log row each."""

    status: str  # applied | stale | needs_refresh | recorded | ignored
    public_id: str | None = None
    asset_id: str | None = None
    detail: str | None = None


def is_older(row: AssetRow, version: int | None, event_at: datetime) -> bool:
    """An event older than the row's state: a lower version, or the same (or unknown)
    version made before the row's newest applied event."""
    if version is not None and row.version is not None and version != row.version:
        return version < row.version
    return row.last_event_at is not None and event_at < row.last_event_at


def is_after_deletion(
    tombstone: AssetRow, version: int | None, event_at: datetime
) -> bool:
    """A re-upload made after the asset was deleted (a new version) brings it back."""
    if version is not None and tombstone.version is not None:
        return version > tombstone.version
    deleted = [t for t in (tombstone.last_event_at, tombstone.deleted_at) if t]
    return bool(deleted) and event_at > max(deleted)


def upsert(
    store: AssetStore,
    identity: Identity,
    columns: Mapping[str, Any],
    event_at: datetime,
    now: datetime,
) -> Outcome:
    """Make `columns` (a full asset state) the live row, unless the row is newer or the
    asset was deleted after this state (then the event is stale)."""
    asset_id = columns.get("asset_id")
    version = columns.get("version")
    store.lock(identity)
    row = store.live_by_identity(identity) or store.live_by_asset_id(asset_id)
    if row is not None:
        if is_older(row, version, event_at):
            return Outcome("stale", identity.public_id, asset_id, "newer state held")
        _assign(store, row, columns, event_at, now)
        return Outcome("applied", identity.public_id, asset_id)
    tombstone = store.newest_tombstone(asset_id, identity)
    if tombstone is not None and not is_after_deletion(tombstone, version, event_at):
        return Outcome("stale", identity.public_id, asset_id, "deleted later")
    if store.deleted_here(asset_id, identity, version, event_at):
        return Outcome("stale", identity.public_id, asset_id, "deleted here later")
    if tombstone is not None:
        # Reviving fires the restore trigger, which cancels a cleanup still pending for
        # this identity: the new upload must not be deleted by it.
        tombstone.deleted_at = None
        store.restored(tombstone)
        _assign(store, tombstone, columns, event_at, now)
        return Outcome("applied", identity.public_id, asset_id, "revived")
    _assign(store, store.new_row(identity), columns, event_at, now)
    return Outcome("applied", identity.public_id, asset_id, "created")


def tombstone(row: AssetRow, event_at: datetime, now: datetime) -> None:
    """Mark a row deleted by Cloudinary (the batch's SET LOCAL keeps the trigger quiet)."""
    row.deleted_at = now
    touch(row, event_at, now)


def touch(row: AssetRow, event_at: datetime, now: datetime) -> None:
    """Record that the row now reflects Cloudinary as of `event_at`."""
    if row.last_event_at is None or event_at > row.last_event_at:
        row.last_event_at = event_at
    row.sync_status = "synced"
    row.synced_at = now
    row.updated_at = now


def mark_needs_refresh(
    store: AssetStore, asset_id: str | None, identity: Identity | None
) -> None:
    row = store.find_live(asset_id, identity)
    if row is not None:
        row.sync_status = "needs_refresh"


def _assign(
    store: AssetStore,
    row: AssetRow,
    columns: Mapping[str, Any],
    event_at: datetime,
    now: datetime,
) -> None:
    for name, value in columns.items():
        setattr(row, name, value)
    touch(row, event_at, now)
    store.track(row)  # the columns may carry a new asset_id
