"""A media_assets row as the apply holds it in memory, and the statements that read and
write such rows a batch at a time.

A plain object rather than the ORM's MediaAsset: a batch creates and changes hundreds of
rows, and writing them as one INSERT and one UPDATE (the rows travel as one json
parameter) costs a small fraction of the ORM's unit of work for the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from db import json_codec

# The columns the apply reads and writes; `id` and `created_at` are the database's.
COLUMNS = (
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
    "metadata_",
    "secure_url",
    "etag",
    "cloudinary_created_at",
    "updated_at",
    "deleted_at",
    "sync_status",
    "synced_at",
    "last_event_at",
    "stamps",
)


@dataclass(eq=False, slots=True)
class AssetRow:
    """One media_assets row (attribute names as db.models.MediaAsset's); `id` is None until
    the row is inserted."""

    public_id: str
    resource_type: str = "image"
    delivery_type: str = "upload"
    id: int | None = None
    asset_id: str | None = None
    version: int | None = None
    format: str | None = None
    bytes: int | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    folder: str | None = None
    display_name: str | None = None
    tags: list[str] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    metadata_: dict[str, Any] = field(default_factory=dict)
    secure_url: str | None = None
    etag: str | None = None
    cloudinary_created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    sync_status: str = "synced"
    synced_at: datetime | None = None
    last_event_at: datetime | None = None
    # workers/inbox/registers.py; replaced, never changed in place, so `values` sees a change
    stamps: dict[str, Any] = field(default_factory=dict)

    def values(self) -> tuple[Any, ...]:
        """The written columns' values, to tell a changed row from an untouched one (tags,
        context and metadata are copied: a change made in place must still show)."""
        values = _GET_COLUMNS(self)
        return (*values[:_TAGS], *(v.copy() for v in values[_TAGS:_AFTER_JSON]),
                *values[_AFTER_JSON:])  # fmt: skip


_GET_COLUMNS = attrgetter(*COLUMNS)
# tags, context and metadata_ are adjacent in COLUMNS: the mutable values
_TAGS, _AFTER_JSON = COLUMNS.index("tags"), COLUMNS.index("metadata_") + 1

_SELECT_COLUMNS = ", ".join(
    ["id", *("metadata AS metadata_" if c == "metadata_" else c for c in COLUMNS)]
)

# The rows travel as one json array of objects (AssetRows as orjson writes dataclasses: a
# key per field), numbered `n` in their order. json, not jsonb: json_to_recordset reads the
# text once, where a jsonb cast builds the whole document first (~40 % slower for 500 rows).
_RECORD = """ROWS FROM (json_to_recordset(CAST(:rows AS json)) AS (
    id bigint, asset_id text, public_id text, resource_type text, delivery_type text,
    version bigint, format text, bytes bigint, width integer, height integer,
    duration double precision, folder text, display_name text, tags json, context json,
    metadata_ json, secure_url text, etag text, cloudinary_created_at timestamptz,
    updated_at timestamptz, deleted_at timestamptz, sync_status text,
    synced_at timestamptz, last_event_at timestamptz, stamps json)) WITH ORDINALITY AS u(
    id, asset_id, public_id, resource_type, delivery_type, version, format, bytes, width,
    height, duration, folder, display_name, tags, context, metadata_, secure_url, etag,
    cloudinary_created_at, updated_at, deleted_at, sync_status, synced_at, last_event_at,
    stamps, n)"""

# One round trip: the new ids are drawn in a materialized CTE (nextval runs once per row)
# that both the INSERT and the answer read, in the rows' order `n`.
_INSERT = text(f"""
WITH u AS MATERIALIZED (
    SELECT nextval(pg_get_serial_sequence('media_assets', 'id')) AS new_id, u.*
      FROM {_RECORD}
), inserted AS (
    INSERT INTO media_assets (id, asset_id, public_id, resource_type, delivery_type,
        version, format, bytes, width, height, duration, folder, display_name, tags,
        context, metadata, secure_url, etag, cloudinary_created_at, updated_at,
        deleted_at, sync_status, synced_at, last_event_at, stamps)
    OVERRIDING SYSTEM VALUE
    SELECT u.new_id, u.asset_id, u.public_id, u.resource_type, u.delivery_type, u.version,
           u.format, u.bytes, u.width, u.height, u.duration, u.folder, u.display_name,
           ARRAY(SELECT json_array_elements_text(u.tags)), CAST(u.context AS jsonb),
           CAST(u.metadata_ AS jsonb),
           u.secure_url, u.etag, u.cloudinary_created_at, coalesce(u.updated_at, now()),
           u.deleted_at, u.sync_status, u.synced_at, u.last_event_at,
           CAST(u.stamps AS jsonb)
      FROM u
)
SELECT new_id FROM u ORDER BY n
""")  # noqa: S608 -- a constant of this module, no input

_UPDATE = text(f"""
UPDATE media_assets m
   SET asset_id = u.asset_id, public_id = u.public_id, resource_type = u.resource_type,
       delivery_type = u.delivery_type, version = u.version, format = u.format,
       bytes = u.bytes, width = u.width, height = u.height, duration = u.duration,
       folder = u.folder, display_name = u.display_name,
       tags = ARRAY(SELECT json_array_elements_text(u.tags)),
       context = CAST(u.context AS jsonb), metadata = CAST(u.metadata_ AS jsonb),
       secure_url = u.secure_url, etag = u.etag,
       cloudinary_created_at = u.cloudinary_created_at,
       updated_at = coalesce(u.updated_at, now()), deleted_at = u.deleted_at,
       sync_status = u.sync_status, synced_at = u.synced_at,
       last_event_at = u.last_event_at, stamps = CAST(u.stamps AS jsonb)
  FROM {_RECORD}
 WHERE m.id = u.id
   -- by id through the primary key, whatever the statistics say (see inbox_record._APPLIED)
   AND m.id = ANY(CAST(:ids AS bigint[]))
""")  # noqa: S608 -- a constant of this module, no input


def select_sql(where: str, *, limit: bool = False) -> str:
    """`SELECT <the row's columns> FROM media_assets WHERE <where>` by id, rows locked
    (`limit`: at most :limit rows)."""
    return (
        f"SELECT {_SELECT_COLUMNS} FROM media_assets WHERE {where} ORDER BY id"  # noqa: S608 -- callers pass constants
        + (" LIMIT :limit" if limit else "")
        + " FOR UPDATE"
    )


def from_result(mapping: Any) -> AssetRow:
    return AssetRow(**mapping)


def insert(session: Session, rows: Sequence[AssetRow]) -> None:
    """Insert rows that have no id yet; each gets its id."""
    if not rows:
        return
    ids = session.scalars(_INSERT, {"rows": _json(rows)}).all()
    for row, new_id in zip(rows, ids, strict=True):
        row.id = int(new_id)


def update(session: Session, rows: Sequence[AssetRow]) -> None:
    if rows:
        session.execute(_UPDATE, {"rows": _json(rows), "ids": [row.id for row in rows]})


def _json(rows: Sequence[AssetRow]) -> str:
    return json_codec.dumps(rows)
