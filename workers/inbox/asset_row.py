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

from db import asset_columns, json_codec
from workers import sql

# The columns the apply reads and writes (MediaAsset's but `id` and `created_at`, the
# database's), by attribute name, in table order.
COLUMNS = asset_columns.WRITTEN


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
    moderation_status: str | None = None
    moderation_kind: str | None = None
    access_mode: str | None = None
    # replaced whole, never changed in place (registers.py): `values` need not copy it
    access_control: list[dict[str, Any]] | None = None

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

# The rows travel as one json array of objects, numbered in their order (queries.sql).
_QUERIES = sql.load("workers.inbox")
_INSERT = text(_QUERIES["insert_assets"])
_UPDATE = text(_QUERIES["update_assets"])


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
