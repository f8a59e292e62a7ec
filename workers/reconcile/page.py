"""Compare one page of Cloudinary resources with media_assets and repair it, in one statement.

Each resource is judged against its live row, its tombstones and its cleanup rows:
- live row, same content → unchanged; live row, older content → updated;
- no live row, but the host deleted it (a tombstone of the same or a newer version, or a
  cleanup row for it) → the cleanup is queued again unless one is pending (never resurrected);
- no live row, but a live row holds the same asset_id under another name → renamed (updated);
- otherwise → inserted (a missed upload; a tombstone of an older version is revived).
The page is passed as one jsonb array, so a 500-asset page is one round trip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from db.notify import CLEANUP_CHANNEL
from workers import sql

# Both statements begin with the page judged (a WITH clause): workers/reconcile/queries.sql.
_QUERIES = sql.load("workers.reconcile")
_JUDGE = _QUERIES["page_judged"]
_DRY = text(f"{_JUDGE}\n{_QUERIES['page_dry_run']}")
_APPLY = text(f"{_JUDGE}\n{_QUERIES['page_repair']}")


@dataclass(frozen=True)
class PageResult:
    counts: dict[str, int]
    seen: int


def apply_page(
    session: Session,
    run_id: int,
    kind: str,
    rows: list[dict[str, Any]],
    fetched_at: datetime,
    *,
    dry_run: bool,
    track_seen: bool,
) -> PageResult:
    """Judge (and unless dry_run, repair) one page; count it per class.

    `fetched_at` is when the request for this page was sent: state Cloudinary reported then
    is never written over an event that happened later.
    """
    params = {
        "page": json.dumps(rows),
        "run_id": run_id,
        "fetched_at": fetched_at,
        "track_seen": track_seen,
    }
    if dry_run:
        found = session.execute(_DRY, params).all()
        counts = {str(action): int(n) for action, n, _ in found}
        seen = int(found[0][2]) if found else 0
        counts["updated"] = counts.get("updated", 0) + counts.pop("renamed", 0)
        counts["inserted"] = counts.get("inserted", 0) + counts.pop("revived", 0)
        return PageResult(_complete(counts), seen)
    row = (
        session.execute(_APPLY, {**params, "kind": kind, "channel": CLEANUP_CHANNEL})
        .mappings()
        .one()
    )
    changed = {
        "inserted": int(row["inserted"]),
        "updated": int(row["updated"]),
        "requeued_cleanup": int(row["requeued_cleanup"]),
    }
    # judged as stale but overtaken by a newer write: nothing left to repair
    changed["unchanged"] = int(row["judged"]) - sum(changed.values())
    return PageResult(_complete(changed), int(row["seen"]))


def _complete(counts: dict[str, int]) -> dict[str, int]:
    keys = ("inserted", "updated", "requeued_cleanup", "unchanged")
    return {key: counts.get(key, 0) for key in keys}
