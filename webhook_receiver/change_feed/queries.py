"""The feed's reads of mediasync_changes (db/migrations/0011_change_feed.sql), and its filters.

Every change goes out as one Server-Sent Event, framed here once and shared by every
subscriber it matches: `id:` is the change id, `data:` one JSON object built by Postgres.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

# The SSE `data:` object. json_build_object renders timestamps in ISO 8601 and keeps
# `changed`/`previous` as the JSON they are; its text has no newline, so one `data:` line.
_PAYLOAD = """
    json_build_object(
        'id', c.id, 'at', c.at, 'op', c.op, 'public_id', c.public_id,
        'resource_type', c.resource_type, 'delivery_type', c.delivery_type,
        'asset_folder', c.asset_folder, 'asset_id', c.asset_id,
        'media_asset_id', c.media_asset_id, 'changed', c.changed, 'previous', c.previous
    )::text"""
_COLUMNS = f"""c.id, c.public_id, c.resource_type, c.asset_folder,
    c.previous ->> 'public_id', c.previous ->> 'folder', {_PAYLOAD}"""

# The statement's own snapshot with the rows it saw (one row even when there are none), so
# the hub knows which transactions could still commit an id below the ones it read.
NEWER = f"""
SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
       pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
       {_COLUMNS}
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (
      SELECT * FROM mediasync_changes WHERE id > %(after)s ORDER BY id LIMIT %(limit)s
  ) c ON true
 ORDER BY c.id
"""  # noqa: S608  # built from constants only

START = """
SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
       (SELECT coalesce(max(id), 0) FROM mediasync_changes)
"""

SNAPSHOT_XMIN = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"

# A subscriber's catch-up: the changes it missed up to what the hub has already delivered
# (every id up to `upto` is final), filtered in Postgres.
MISSED = f"""
SELECT {_COLUMNS}
  FROM mediasync_changes c
 WHERE c.id > %(after)s AND c.id <= %(upto)s
   AND (%(prefix)s::text IS NULL OR starts_with(c.public_id, %(prefix)s)
        OR starts_with(c.previous ->> 'public_id', %(prefix)s))
   AND (%(folder)s::text IS NULL
        OR c.asset_folder = %(folder)s OR starts_with(c.asset_folder, %(folder)s || '/')
        OR c.previous ->> 'folder' = %(folder)s
        OR starts_with(c.previous ->> 'folder', %(folder)s || '/'))
   AND (%(resource_type)s::text IS NULL OR c.resource_type = %(resource_type)s)
 ORDER BY c.id
 LIMIT %(limit)s
"""  # noqa: S608  # built from constants only

OLDEST = "SELECT min(id) FROM mediasync_changes"


@dataclass(frozen=True)
class Change:
    id: int
    public_id: str
    resource_type: str
    folder: str | None
    # a rename or move: where the asset was, so a filter on the old place sees it leave
    old_public_id: str | None
    old_folder: str | None
    event: bytes

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Change:
        change_id, public_id, resource_type, folder, old_public_id, old_folder, data = (
            row
        )
        return cls(
            change_id,
            public_id,
            resource_type,
            folder,
            old_public_id,
            old_folder,
            f"id: {change_id}\ndata: {data}\n\n".encode(),
        )


@dataclass(frozen=True)
class Filters:
    """What a subscriber asked for; every given one must match (None: any)."""

    public_id_prefix: str | None = None
    folder: str | None = None
    resource_type: str | None = None

    def matches(self, change: Change) -> bool:
        prefix, folder = self.public_id_prefix, self.folder
        if prefix is not None and not (
            change.public_id.startswith(prefix)
            or (change.old_public_id or "").startswith(prefix)
        ):
            return False
        if folder is not None and not (
            _within(change.folder, folder) or _within(change.old_folder, folder)
        ):
            return False
        return self.resource_type is None or change.resource_type == self.resource_type

    def params(self) -> dict[str, str | None]:
        return {
            "prefix": self.public_id_prefix,
            "folder": self.folder,
            "resource_type": self.resource_type,
        }


def _within(folder: str | None, wanted: str) -> bool:
    """In the folder or below it."""
    return folder is not None and (folder == wanted or folder.startswith(wanted + "/"))


Conn = psycopg.AsyncConnection[tuple[Any, ...]]


async def newer(conn: Conn, after: int, limit: int) -> tuple[int, int, list[Change]]:
    """The snapshot's xmin and xmax, and up to `limit` changes after `after`, in id order."""
    cursor = await conn.execute(NEWER, {"after": after, "limit": limit})
    rows = await cursor.fetchall()
    xmin, xmax = int(rows[0][0]), int(rows[0][1])
    return xmin, xmax, [Change.from_row(r[2:]) for r in rows if r[2] is not None]


async def start(conn: Conn) -> tuple[int, int]:
    """The snapshot's xmax and the largest change id it sees."""
    cursor = await conn.execute(START)
    row = await cursor.fetchone()
    assert row is not None  # noqa: S101  # a SELECT without FROM always returns its row
    return int(row[0]), int(row[1])


async def snapshot_xmin(conn: Conn) -> int:
    cursor = await conn.execute(SNAPSHOT_XMIN)
    row = await cursor.fetchone()
    assert row is not None  # noqa: S101  # a SELECT without FROM always returns its row
    return int(row[0])


async def missed(
    conn: Conn, after: int, upto: int, filters: Filters, limit: int
) -> list[Change]:
    params: dict[str, Any] = {
        "after": after,
        "upto": upto,
        "limit": limit,
        **filters.params(),
    }
    cursor = await conn.execute(MISSED, params)
    return [Change.from_row(r) for r in await cursor.fetchall()]


async def oldest(conn: Conn) -> int | None:
    cursor = await conn.execute(OLDEST)
    row = await cursor.fetchone()
    return None if row is None or row[0] is None else int(row[0])
