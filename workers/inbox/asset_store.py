"""The media_assets rows an apply batch touches: locked and loaded in a few statements, then
read and changed in memory, and written back set-based.

Rows are keyed by Cloudinary's asset_id (one row per asset, whatever names it takes); a name
(identity) is locked and loaded with every row that has it, the name's holder register
(media_asset_holders) and the cleanup rows that say this database deleted an asset. A key
the batch did not name up front (an Admin API answer, a folder rename) is locked
(workers/inbox/locks.py) and loaded on first use: nothing is decided from a partial view.
`settle` turns the registers into deleted_at / sync_status (workers/inbox/registers.py); `flush`
writes the changed and new rows and the changed holders.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

from db import json_codec
from workers import sql
from workers.inbox import asset_row, registers
from workers.inbox.asset_row import AssetRow
from workers.inbox.events import Identity
from workers.inbox.locks import BatchLocks


def _named_by_keys(table: str) -> str:
    """`id = ANY(...)`: the ids of `table`'s rows with one of the public_ids of the batch's
    identities (:identities; a row of the same public_id and another resource or delivery
    type comes along, harmless: nothing is decided about a name not loaded) or asset_ids
    (:asset_ids).

    By public_id alone: joined on the identities as well, the planner chose a nested loop
    testing every public_id against the whole array (50 ms per 500-row batch, not 2 ms).

    `= ANY(ARRAY(...))`, not `IN (...)` or a join on the json function: the planner guesses
    a set-returning function's rows and would scan the whole table per batch; an array is
    probed through the indexes (public_id leads the identity indexes) whatever the
    statistics say. UNION ALL: the outer `= ANY` does not mind a repeated id, and a UNION's
    de-duplication had PostgreSQL 18 walk the whole primary key.
    """
    return f"""id = ANY(ARRAY(
    SELECT t.id FROM {table} t
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

# The cleanup rows (this database deleted that asset) and the names' holders, in one
# round trip: `stamp` NULL marks a cleanup row.
_CLEANUPS_AND_HOLDERS = text(f"""
SELECT asset_id, version, created_at, status, NULL AS public_id,
       NULL AS resource_type, NULL AS delivery_type, NULL AS stamp
  FROM cloudinary_cleanup_queue
 WHERE {_named_by_keys("cloudinary_cleanup_queue")}
UNION ALL
SELECT h.asset_id, NULL, NULL, NULL, h.public_id, h.resource_type, h.delivery_type,
       h.stamp
  FROM media_asset_holders h
 WHERE h.public_id = ANY(ARRAY(
    SELECT json_array_elements(CAST(:identities AS json))->>'public_id'))
""")  # noqa: S608 -- constants of this module

# The holders the batch changed (workers/inbox/queries.sql).
# the cleanup rows that deleted nothing: the row was restored before the cleanup ran (by
# the host app: skipped; by an operator: cancelled)
_NOT_DELETED = ("skipped", "cancelled")
_WRITE_HOLDERS = text(sql.load("workers.inbox")["write_holders"])


class Holder(NamedTuple):
    """Who holds a name as of `stamp`; key None: nobody (deleted, renamed away)."""

    stamp: str
    key: str | None


def identity_of(row: AssetRow) -> Identity:
    return Identity(row.public_id, row.resource_type, row.delivery_type)


def key_of(row: AssetRow) -> str:
    """What a holder register names: the asset_id (a row from before asset_ids: its id)."""
    return row.asset_id or f"row:{row.id}"


class AssetStore:
    """One transaction's locked view of the rows, names and cleanups it names."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._locks = BatchLocks(session)
        self._rows: dict[int, AssetRow] = {}  # by id: each stored row is one object
        self._stored: dict[int, tuple[object, ...]] = {}  # by id: its values as stored
        self._new: list[AssetRow] = []
        self._by_asset_id: dict[str, AssetRow] = {}
        # by the name each row had when loaded (or created): where to look for a name's rows
        self._by_identity: dict[Identity, list[AssetRow]] = {}
        self._identities: set[Identity] = set()  # locked, with every row and holder
        self._asset_ids: set[str] = set()  # locked, with its row
        self._holders: dict[Identity, Holder] = {}
        self._changed_holders: set[Identity] = set()
        self._deleted_here: dict[str, list[Any]] = {}  # asset_id -> existence register

    # -- loading ------------------------------------------------------------------------

    def load(
        self,
        identities: Collection[Identity | None],
        asset_ids: Collection[str | None] = (),
    ) -> None:
        """Lock these names and asset_ids and load every row, holder and cleanup of them."""
        if len(identities) == 1 and len(asset_ids) <= 1:
            # the common call, once the batch is loaded: one event's keys, known already
            [identity] = identities
            asset_id = next(iter(asset_ids), None)
            if (identity is None or identity in self._identities) and (
                not asset_id or asset_id in self._asset_ids
            ):
                return
        new_identities = sorted(
            {i for i in identities if i is not None} - self._identities,
            key=lambda i: i.lock_key,
        )
        new_asset_ids = sorted({a for a in asset_ids if a} - self._asset_ids)
        if not new_identities and not new_asset_ids:
            return
        self._locks.lock(
            [f"i:{i.lock_key}" for i in new_identities]
            + [f"a:{a}" for a in new_asset_ids]
        )
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
        # .all(): one fetch for the result, not a call per row
        loaded = self._adopt(self.session.execute(_ASSETS, keys).all())
        named = set(new_identities)
        for found in self.session.execute(_CLEANUPS_AND_HOLDERS, keys).all():
            if found.stamp is not None:
                identity = Identity(
                    found.public_id, found.resource_type, found.delivery_type
                )
                # (a name of the same public_id but another type comes along: not ours)
                if identity in named:
                    self.claim(identity, found.asset_id, found.stamp, write=False)
            elif found.status not in _NOT_DELETED and found.asset_id:
                held = self._deleted_here.get(found.asset_id)
                deleted = registers.host_deleted(found.created_at, found.version)
                if held is None or deleted[0] > held[0]:
                    self._deleted_here[found.asset_id] = deleted
        if new_identities:
            loaded += [r for i in new_identities for r in self._by_identity.get(i, ())]
        for row in loaded:
            if identity_of(row) in self._identities:
                self._fold_claim(row)

    def load_current_names(self) -> None:
        """Lock and load the names the loaded rows have now (a row found by asset_id may be
        named otherwise than its event says): up front with the batch's keys, rather than
        one by one as events reach them, which is when two workers can deadlock."""
        self.load([identity_of(row) for row in self._rows.values()])

    def _adopt(self, result: Iterable[Any]) -> list[AssetRow]:
        """Rows from the database, as the objects already held where there are any (what
        the batch changed in memory wins over what the database still says)."""
        rows = []
        for mapping in result:
            row = self._rows.get(mapping.id)
            if row is None:
                row = asset_row.from_result(mapping._mapping)
                registers.prepare(row)
                self._rows[mapping.id] = row
                self._stored[mapping.id] = row.values()
                if row.asset_id is not None:
                    self._by_asset_id.setdefault(row.asset_id, row)
                self._by_identity.setdefault(identity_of(row), []).append(row)
            rows.append(row)
        return rows

    def _fold_claim(self, row: AssetRow) -> None:
        """A row written outside the apply (reconcile, an older mirror) claims its name as
        of its stamps: the holder register may not know it."""
        exists = row.stamps.get("exists")
        written = registers.held(row.stamps, "identity")
        if exists and exists[1] and written and registers.is_complete(row):
            self.claim(identity_of(row), key_of(row), written, write=False)

    # -- reading and changing -------------------------------------------------------------

    def row_for(
        self, asset_id: str | None, identity: Identity | None
    ) -> AssetRow | None:
        """The asset's row: by asset_id; else the live row of a name that has no asset_id
        yet (a row from before asset_ids); else a new row for the asset (None without an
        asset_id: nothing says which asset it is)."""
        if (identity is not None and identity not in self._identities) or (
            asset_id and asset_id not in self._asset_ids
        ):
            self.load([identity], [asset_id])
        if asset_id is None:
            return None if identity is None else self.live_at(identity)
        row = self._by_asset_id.get(asset_id)
        if row is not None:
            return row
        if identity is not None:
            live = self.live_at(identity)
            if live is not None and live.asset_id is None:
                live.asset_id = asset_id
                self._by_asset_id[asset_id] = live
                return live
            row = AssetRow(
                identity.public_id, identity.resource_type, identity.delivery_type
            )
        else:
            row = AssetRow("")  # named by a later write, or never inserted
        row.asset_id = asset_id
        row.stamps = {"shown": False}
        self._by_identity.setdefault(identity_of(row), []).append(row)
        if (deleted := self._deleted_here.get(asset_id)) is not None:
            row.stamps["exists"] = deleted
        self._new.append(row)
        self._by_asset_id[asset_id] = row
        return row

    def live_at(self, identity: Identity) -> AssetRow | None:
        """The row live under this name as loaded (a rename earlier in the batch is not
        seen here: only events without an asset_id, and rows without one, ask)."""
        self.load([identity])
        for row in self._by_identity.get(identity, ()):
            if row.deleted_at is None and identity_of(row) == identity:
                return row
        return None

    def holder(self, identity: Identity) -> Holder | None:
        self.load([identity])
        return self._holders.get(identity)

    def claim(
        self, identity: Identity, key: str | None, written: str, *, write: bool = True
    ) -> None:
        """The name is held by `key` (None: by nobody) as of `written`, if that is newer."""
        if write and identity not in self._identities:
            self.load([identity])
        held = self._holders.get(identity)
        if held is None or written > held.stamp:
            self._holders[identity] = Holder(written, key)
            if write:
                self._changed_holders.add(identity)

    def live_in_folder(self, folder: str, limit: int) -> list[AssetRow]:
        """Up to `limit` live rows in `folder` or below it, locked."""
        rows = self.session.execute(
            _IN_FOLDER, {"folder": folder, "limit": limit}
        ).all()
        found = self._adopt(rows)
        self.load([identity_of(r) for r in found], [r.asset_id for r in found])
        return found

    def _implied(self, identity: Identity, holder: Holder) -> bool:
        """Whether loading the name will find this holder without a row for it: its asset's
        row is live under the name with that very stamp (_fold_claim), as after most
        uploads. Only the other holders are written: "nobody" since a delete or a rename
        away, and assets that have since left the name (or are not live under it)."""
        row = self._by_asset_id.get(holder.key) if holder.key else None
        return (
            row is not None
            and row.deleted_at is None
            and identity_of(row) == identity
            and registers.held(row.stamps, "identity") == holder.stamp
        )

    def _all_rows(self) -> list[AssetRow]:
        return [*self._rows.values(), *self._new]

    # -- writing --------------------------------------------------------------------------

    def settle(self, now: datetime) -> None:
        """Set each row's deleted_at and sync_status from its registers and its name's
        holder, for every row whose state or name the batch may have changed."""
        # every register write replaces a row's stamps: a changed row has other ones
        changed = [r for r in self._new if r.public_id] + [
            row
            for key, row in self._rows.items()
            if row.stamps is not self._stored[key][_STAMPS]
        ]
        self.load([identity_of(row) for row in changed])
        for row in self._all_rows():
            identity = identity_of(row)
            if identity in self._identities:
                held = self._holders.get(identity)
                registers.settle(row, held is not None and held.key == key_of(row), now)

    def flush(self, now: datetime, *, last: bool = False) -> None:
        """Write the changed rows and holders, then insert the new rows.

        A row leaving a name is written before the row taking it (the name's unique index
        allows one live row at any moment): rows that were live and now are not, or are
        live under another name, are first written hidden.
        `last`: the batch's final flush; the store is not used after it."""
        self.settle(now)
        changed = []
        left: list[tuple[AssetRow, tuple[object, ...]]] = []  # and the name it left
        entering: set[tuple[object, ...]] = set()
        for key, row in self._rows.items():
            stored = self._stored[key]
            if row.values() == stored:
                continue
            row.updated_at = now
            if row.sync_status == "synced":
                row.synced_at = now
            changed.append(row)
            was_live, name = stored[_DELETED_AT] is None, _name(row)
            if was_live and (row.deleted_at is not None or stored[_NAME] != name):
                left.append((row, stored[_NAME]))
            if row.deleted_at is None and (not was_live or stored[_NAME] != name):
                entering.add(name)
        entering.update(_name(r) for r in self._new if r.deleted_at is None)
        # only where another row takes the name in this same write
        leaving = [
            replace(row, deleted_at=row.deleted_at or now)
            for row, name in left
            if name in entering
        ]
        if leaving:
            asset_row.update(self.session, leaving)
        asset_row.update(self.session, changed)
        # a new row only ever deleted here (a late event of an asset the host app deleted)
        # stays out: its cleanup row remembers the delete, the host does not want it back
        new = [r for r in self._new if r.public_id and not _only_deleted_here(r)]
        inserted = {id(r) for r in new}
        for row in new:
            row.updated_at = row.synced_at = now
        asset_row.insert(self.session, new)
        holders = [
            {
                "public_id": i.public_id,
                "resource_type": i.resource_type,
                "delivery_type": i.delivery_type,
                "asset_id": self._holders[i].key,
                "stamp": self._holders[i].stamp,
            }
            for i in sorted(self._changed_holders, key=lambda i: i.lock_key)
            if not self._implied(i, self._holders[i])
        ]
        if holders:
            self.session.execute(_WRITE_HOLDERS, {"rows": json_codec.dumps(holders)})
        self._changed_holders = set()
        if last:
            return
        for row in [*changed, *new]:
            assert row.id is not None  # noqa: S101 -- insert() gave each new row its id
            self._rows[row.id] = row
            self._stored[row.id] = row.values()
        self._new = [r for r in self._new if id(r) not in inserted]


_DELETED_AT = asset_row.COLUMNS.index("deleted_at")
_STAMPS = asset_row.COLUMNS.index("stamps")
_NAME = slice(
    asset_row.COLUMNS.index("public_id"), asset_row.COLUMNS.index("delivery_type") + 1
)


def _name(row: AssetRow) -> tuple[str, str, str]:
    return (row.public_id, row.resource_type, row.delivery_type)


def _only_deleted_here(row: AssetRow) -> bool:
    exists = row.stamps.get("exists")
    return bool(exists and not exists[1] and exists[2] is not None)
