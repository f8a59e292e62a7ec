"""The media_assets rows an apply batch touches: locked and loaded in a few statements, then
looked up in memory.

Applying an event means several lookups (the live row by asset_id, by identity, the newest
tombstone, the cleanup rows that say this database deleted it). Asked one event at a time
that is ten statements per event; here the batch locks its identities and loads every row
they (or their asset_ids) name in three statements, and the event logic reads memory.
A key the batch did not name (an Admin API answer, a folder rename) is locked and loaded on
first use, so nothing is ever looked up in a partial view.

Rows are plain AssetRow objects (workers/asset_row.py); `flush` writes the new and changed
ones in one INSERT and one UPDATE. `track` keeps the indexes true when a row's identity or
asset_id changes; `restored` mirrors the restore trigger until the flush fires the real one.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from db import json_codec
from workers import asset_row
from workers.asset_row import AssetRow
from workers.events import Identity

# Sorted by lock hash, so two batches naming the same identities cannot take them in
# opposite orders (a deadlock Postgres would have to break).
_LOCK = text("""
SELECT pg_advisory_xact_lock(h)
  FROM (SELECT DISTINCT hashtextextended(k, 0) AS h
          FROM json_array_elements_text(CAST(:keys AS json)) AS k ORDER BY h) locks
""")


def _named_by_keys(table: str) -> str:
    """`id = ANY(...)`: the ids of `table`'s rows with one of the batch's identities
    (:identities) or asset_ids (:asset_ids).

    `= ANY(ARRAY(...))`, not `IN (...)` or a join on the json function alone: the planner
    guesses a set-returning function's rows (100, or thousands after a join) and would
    answer with a scan of the whole table (or index) per batch; an array is probed through
    the indexes (public_id leads the identity indexes), in the apply's index-scans-only
    transaction (workers/inbox.py) whatever the table's statistics say. UNION ALL: the
    outer `= ANY` does not mind a repeated id, and a UNION's de-duplication had PostgreSQL
    18 walk the whole primary key for the ids in order rather than probe the asset_id index.
    """
    return f"""id = ANY(ARRAY(
    SELECT t.id FROM {table} t
      JOIN json_to_recordset(CAST(:identities AS json))
           AS k(public_id text, resource_type text, delivery_type text)
     USING (public_id, resource_type, delivery_type)
     WHERE t.public_id = ANY(ARRAY(
        SELECT json_array_elements(CAST(:identities AS json))->>'public_id'))
    UNION ALL
    SELECT t.id FROM {table} t
     WHERE t.asset_id = ANY(ARRAY(
        SELECT json_array_elements_text(CAST(:asset_ids AS json))))))"""  # noqa: S608 -- callers pass a table name constant


_ASSETS = text(asset_row.select_sql(_named_by_keys("media_assets")))

_IN_FOLDER = text(
    asset_row.select_sql(
        "deleted_at IS NULL AND (folder = :folder OR starts_with(folder, :folder || '/'))",
        limit=True,
    )
)

_CLEANUPS = text(f"""
SELECT id, public_id, resource_type, delivery_type, asset_id, version, created_at, status
  FROM cloudinary_cleanup_queue
 WHERE {_named_by_keys("cloudinary_cleanup_queue")}
""")  # noqa: S608 -- constants of this module


@dataclass
class CleanupRow:
    """What the apply needs of a cloudinary_cleanup_queue row: that this database deleted
    that asset version (a hard delete leaves no tombstone, only this row)."""

    id: int
    identity: Identity
    asset_id: str | None
    version: int | None
    created_at: datetime
    status: str


def identity_of(row: AssetRow) -> Identity:
    return Identity(row.public_id, row.resource_type, row.delivery_type)


class AssetStore:
    """One transaction's locked view of the media_assets rows (and cleanup rows) it names."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._rows: dict[int, AssetRow] = {}  # by id: each stored row is one object
        self._stored: dict[int, tuple[object, ...]] = {}  # by id: its values as stored
        self._identities: set[Identity] = set()  # locked, and every row of each loaded
        self._asset_ids: set[str] = set()  # every row of each loaded
        # both, and the keys that name nothing: what `load` can answer from memory
        self._loaded: set[Identity | str | None] = {None, ""}
        self._by_identity: dict[Identity, list[AssetRow]] = {}
        self._by_asset_id: dict[str, list[AssetRow]] = {}
        self._new: list[AssetRow] = []
        self._cleanups: dict[int, CleanupRow] = {}
        self._cleanups_by_identity: dict[Identity, list[CleanupRow]] = {}
        self._cleanups_by_asset_id: dict[str, list[CleanupRow]] = {}

    def load(
        self,
        identities: Collection[Identity | None],
        asset_ids: Collection[str | None] = (),
    ) -> None:
        """Lock these identities and load every row they or these asset_ids name."""
        if self._loaded.issuperset(identities) and self._loaded.issuperset(asset_ids):
            return  # the common case, once the batch is loaded
        new_identities = sorted(
            {i for i in identities if i is not None} - self._identities,
            key=lambda i: i.lock_key,
        )
        new_asset_ids = sorted({a for a in asset_ids if a} - self._asset_ids)
        if not new_identities and not new_asset_ids:
            return
        if new_identities:
            locks = json_codec.dumps([i.lock_key for i in new_identities])
            self.session.execute(_LOCK, {"keys": locks})
        # one json parameter each: serialized in C, where a text[] is adapted in Python
        keys = {
            "identities": json_codec.dumps(
                [
                    {
                        "public_id": i.public_id,
                        "resource_type": i.resource_type,
                        "delivery_type": i.delivery_type,
                    }
                    for i in new_identities
                ]
            ),
            "asset_ids": json_codec.dumps(new_asset_ids),
        }
        self._identities.update(new_identities)
        self._asset_ids.update(new_asset_ids)
        self._loaded.update(new_identities, new_asset_ids)
        # .all(): one fetch for the result, not a call per row
        self._adopt(self.session.execute(_ASSETS, keys).all())
        for cleanup in self.session.execute(_CLEANUPS, keys).all():
            self._track_cleanup(
                CleanupRow(
                    id=cleanup.id,
                    identity=Identity(
                        cleanup.public_id, cleanup.resource_type, cleanup.delivery_type
                    ),
                    asset_id=cleanup.asset_id,
                    version=cleanup.version,
                    created_at=cleanup.created_at,
                    status=cleanup.status,
                )
            )

    def lock(self, *identities: Identity | None) -> None:
        self.load(identities)

    def track(self, row: AssetRow) -> None:
        """Index `row` under its current identity and asset_id (after a change to either)."""
        # `in` compares AssetRows by identity (eq=False)
        by_identity = self._by_identity.setdefault(identity_of(row), [])
        if row not in by_identity:
            by_identity.append(row)
        if row.asset_id is not None:
            by_asset_id = self._by_asset_id.setdefault(row.asset_id, [])
            if row not in by_asset_id:
                by_asset_id.append(row)

    def new_row(self, identity: Identity) -> AssetRow:
        """A row for `identity`, inserted by the next flush."""
        row = AssetRow(
            identity.public_id, identity.resource_type, identity.delivery_type
        )
        self._new.append(row)
        self.track(row)
        return row

    def live_in_folder(self, folder: str, limit: int) -> list[AssetRow]:
        """Up to `limit` live rows in `folder` or below it, locked."""
        self.flush()  # the database answers: it must know what the batch changed
        return self._adopt(
            self.session.execute(_IN_FOLDER, {"folder": folder, "limit": limit}).all()
        )

    def flush(self, *, last: bool = False) -> None:
        """Write the rows changed since they were loaded (or last flushed), then the new ones:
        a row the batch tombstoned frees its identity before a new live row takes it.

        `last`: the batch's final flush; the store is not used after it, so what was written
        is not recorded as the rows' stored state."""
        changed = [
            row for key, row in self._rows.items() if row.values() != self._stored[key]
        ]
        asset_row.update(self.session, changed)
        asset_row.insert(self.session, self._new)
        if last:
            self._new = []
            return
        for row in [*changed, *self._new]:
            assert row.id is not None  # noqa: S101 -- insert() gave each new row its id
            self._rows[row.id] = row
            self._stored[row.id] = row.values()
        self._new = []

    def _adopt(self, result: Iterable[Any]) -> list[AssetRow]:
        """Rows from the database, as the objects already held where there are any (what
        the batch changed in memory wins over what the database still says)."""
        rows = []
        for mapping in result:
            row = self._rows.get(mapping.id)
            if row is None:
                row = asset_row.from_result(mapping._mapping)
                self._rows[mapping.id] = row
                self._stored[mapping.id] = row.values()
            self.track(row)
            rows.append(row)
        return rows

    def live_by_identity(self, identity: Identity) -> AssetRow | None:
        self.load([identity])
        for row in self._by_identity.get(identity, ()):
            if row.deleted_at is None and identity_of(row) == identity:
                return row
        return None

    def live_by_asset_id(self, asset_id: str | None) -> AssetRow | None:
        if asset_id is None:
            return None
        self.load((), [asset_id])
        live = [
            row
            for row in self._by_asset_id.get(asset_id, ())
            if row.deleted_at is None and row.asset_id == asset_id
        ]
        # the oldest row first, as an `ORDER BY id` would (rows not yet flushed last)
        live.sort(key=lambda row: (row.id is None, row.id or 0))
        return live[0] if live else None

    def find_live(
        self, asset_id: str | None, identity: Identity | None
    ) -> AssetRow | None:
        """The live row, by the immutable asset_id first (it survives renames)."""
        row = self.live_by_asset_id(asset_id)
        if row is None and identity is not None:
            row = self.live_by_identity(identity)
        return row

    def newest_tombstone(
        self, asset_id: str | None, identity: Identity
    ) -> AssetRow | None:
        self.load([identity], [asset_id])
        candidates = [*self._by_identity.get(identity, ())]
        if asset_id is not None:
            candidates += self._by_asset_id.get(asset_id, ())
        dead = [
            row
            for row in candidates
            if row.deleted_at is not None
            and (
                identity_of(row) == identity
                or (asset_id is not None and row.asset_id == asset_id)
            )
        ]
        # the highest version, then the latest deletion, as the SQL this replaces ordered
        dead.sort(key=lambda row: (row.version or 0, row.deleted_at), reverse=True)
        return dead[0] if dead else None

    def deleted_here(
        self,
        asset_id: str | None,
        identity: Identity,
        version: int | None,
        event_at: datetime,
    ) -> bool:
        """Whether this database deleted that asset version, or (version unknown) deleted
        it at or after `event_at`."""
        self.load([identity], [asset_id])
        candidates = [*self._cleanups_by_identity.get(identity, ())]
        if asset_id is not None:
            candidates += self._cleanups_by_asset_id.get(asset_id, ())
        for cleanup in candidates:
            # `skipped`: the row was restored before the cleanup ran, so not deleted after all
            if cleanup.status == "skipped":
                continue
            if version is not None:
                if cleanup.version is not None and cleanup.version >= version:
                    return True
            elif cleanup.created_at >= event_at:
                return True
        return False

    def restored(self, row: AssetRow) -> None:
        """Mirror media_assets_cancel_cleanup: reviving a row cancels the pending cleanups of
        its identity (the trigger does it in the database when the row is flushed)."""
        for cleanup in self._cleanups_by_identity.get(identity_of(row), ()):
            if cleanup.status == "pending":
                cleanup.status = "skipped"

    def _track_cleanup(self, cleanup: CleanupRow) -> None:
        if cleanup.id in self._cleanups:
            return
        self._cleanups[cleanup.id] = cleanup
        self._cleanups_by_identity.setdefault(cleanup.identity, []).append(cleanup)
        if cleanup.asset_id is not None:
            self._cleanups_by_asset_id.setdefault(cleanup.asset_id, []).append(cleanup)
