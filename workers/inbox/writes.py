"""What an event says about one asset, written to its row's registers: a full state, a
deletion, a name. Used by the event handlers (workers/inbox/handlers.py) and the re-fetch
(workers/inbox/refetch.py).

Every function runs inside the apply batch's transaction, after it ran
`SET LOCAL mediasync.origin = 'cloudinary'`: a row hidden here records a deletion
Cloudinary already made, so the delete triggers queue nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from workers.inbox import registers
from workers.inbox.asset_row import AssetRow
from workers.inbox.asset_store import AssetStore, key_of
from workers.inbox.events import Identity


class Outcome(NamedTuple):
    """What one event did to one asset; one media_sync_log row each."""

    status: str  # applied | stale | needs_refresh | recorded | ignored
    public_id: str | None = None
    asset_id: str | None = None
    detail: str | None = None


def full_state(
    store: AssetStore,
    asset_id: str | None,
    identity: Identity,
    columns: Mapping[str, Any],
    written: str,
) -> Outcome:
    """The asset as a whole as of `written` (an upload, an Admin API answer): its row's
    registers (registers.write_full) and its name's holder."""
    row = store.row_for(asset_id, identity)
    if row is None:
        return Outcome("stale", identity.public_id, asset_id, "names no asset_id")
    before = row.stamps
    registers.write_full(row, columns, identity, written)
    store.claim(identity, key_of(row), written)
    exists = row.stamps.get("exists")
    if exists and not exists[1]:
        if row.id is None and exists[2] is not None:
            # a late event of an asset the host app deleted (hard): no row comes back
            return Outcome("stale", identity.public_id, asset_id, "deleted here later")
        return outcome(row, before, "deleted later")
    return outcome(row, before)


def deleted(
    store: AssetStore,
    asset_id: str | None,
    identity: Identity,
    written: str,
    described: Mapping[str, Any],
) -> Outcome:
    """Cloudinary deleted the asset (named `identity` then) as of `written`; `described`:
    the columns the notification has of it."""
    row = store.row_for(asset_id, identity)
    if row is None:
        # no asset_id and no live row of that name: nothing to mark; the name is free
        store.claim(identity, None, written)
        return Outcome("stale", identity.public_id, asset_id, "no such asset held")
    exists = row.stamps.get("exists")
    if row.id is None and exists and not exists[1] and exists[2] is not None:
        # the echo of our own cleanup: its queue row already guards against a late upload
        return Outcome("applied", identity.public_id, asset_id, "already deleted here")
    before = row.stamps
    registers.write_identity(row, identity, written)
    registers.write_deleted(row, written)
    if not registers.is_complete(row):
        # what was deleted, for the reader of a row never seen live; not a state
        for column in ("version", "folder", "display_name"):
            if getattr(row, column) is None:
                setattr(row, column, described.get(column))
    store.claim(identity, None, written)
    return outcome(row, before, "deleted")


def name(store: AssetStore, row: AssetRow, identity: Identity, written: str) -> None:
    """The asset had this name as of `written` (any event about it says so)."""
    registers.write_identity(row, identity, written)
    store.claim(identity, key_of(row), written)


def outcome(
    row: AssetRow, before: dict[str, Any], detail: str | None = None
) -> Outcome:
    """`before`: the row's stamps before the event; every register write replaces them, so
    an event changed the row exactly when they are another object now."""
    if row.stamps is before:
        return Outcome("stale", row.public_id, row.asset_id, "older than the mirror")
    return Outcome("applied", row.public_id, row.asset_id, detail)


def mark_needs_refresh(row: AssetRow | None) -> None:
    """A change we could not apply: reconcile (or the next full state) sets the row right."""
    if row is not None:
        row.sync_status = "needs_refresh"
