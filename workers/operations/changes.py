"""The latest changes of media_assets (mediasync_changes, db/migrations/0011_change_feed.sql),
newest first, with the change feed's filters: the console's live page without JavaScript,
and where its live view starts (`head`).

The filters mean what the feed's do (webhook_receiver/change_feed/queries.py, which cannot
be imported from here): a public_id prefix and a folder (that folder or below) match the
asset's place before or after the change, so a rename or move out of a filter still shows.
Keyset-paged on the primary key (the caller passes the last id it showed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from workers.operations.listings import Page

RESOURCE_TYPES = ("image", "video", "raw")

_LATEST = text(
    """
SELECT c.id, c.at, c.op, c.public_id, c.resource_type, c.delivery_type, c.asset_folder,
       c.changed, c.previous
  FROM mediasync_changes c
 WHERE (CAST(:before AS bigint) IS NULL OR c.id < :before)
   AND (CAST(:prefix AS text) IS NULL OR starts_with(c.public_id, :prefix)
        OR starts_with(c.previous ->> 'public_id', :prefix))
   AND (CAST(:folder AS text) IS NULL
        OR c.asset_folder = :folder OR starts_with(c.asset_folder, :folder || '/')
        OR c.previous ->> 'folder' = :folder
        OR starts_with(c.previous ->> 'folder', :folder || '/'))
   AND (CAST(:resource_type AS text) IS NULL OR c.resource_type = :resource_type)
 ORDER BY c.id DESC
 LIMIT :limit
"""
)

_HEAD = text("SELECT coalesce(max(id), 0) FROM mediasync_changes")


@dataclass(frozen=True)
class ChangeFilter:
    public_id_prefix: str | None = None
    folder: str | None = None  # without slashes at either end, as the feed takes it
    resource_type: str | None = None

    def feed_params(self) -> dict[str, str]:
        """The same filter as the feed's query parameters."""
        found = {
            "public_id": self.public_id_prefix,
            "folder": self.folder,
            "resource_type": self.resource_type,
        }
        return {name: value for name, value in found.items() if value}


def latest(
    session: Session, where: ChangeFilter, *, limit: int, before_id: int | None
) -> Page:
    """Up to `limit` changes matching `where`, newest first, below `before_id` if given;
    each with `fields`, the names of the fields it changed (updated, restored)."""
    rows = session.execute(
        _LATEST,
        {
            "before": before_id,
            "prefix": where.public_id_prefix,
            "folder": where.folder,
            "resource_type": where.resource_type,
            "limit": limit + 1,
        },
    ).mappings()
    items: list[dict[str, Any]] = []
    for row in rows:
        item = dict(row)
        item["fields"] = sorted(item["changed"] or {})
        items.append(item)
    more = len(items) > limit
    items = items[:limit]
    return Page(items, items[-1]["id"] if more and items else None)


def head(session: Session) -> int:
    """The largest change id (0: none yet): a live view resumes after it."""
    return int(session.execute(_HEAD).scalar_one())
