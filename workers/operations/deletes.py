"""The operator's decisions on held deletes: release, restore, adopt (README "Safety").

A guardrail (workers/cleanup/guard.py) holds a cleanup it is unsure of: status `held`, the
reason in held_reason. Nothing here is automatic; an operator looked and decided:

- `release`: the deletes were meant; they are sent, even while the breaker is tripped.
- `restore`: they were a mistake; the rows come back (a soft delete's tombstone is undone, a
  hard delete's row is re-created from Cloudinary's current state) and the cleanups end
  `cancelled`. Pending rows (not sent yet, e.g. within MEDIASYNC_DELETE_DELAY) may be
  restored too.
- `adopt`: this database is the one mediasync serves now (a restored backup, a move):
  record it, and send the deletes held because it was not.

Each function takes a Session and never commits (the caller does, then wakes a drain). A
selection that names a row it cannot act on changes nothing: all or nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from workers.cleanup import guard
from workers.cleanup.guard import IDENTITY_HOLD, reset_breaker
from workers.cloudinary_client import CloudinaryClient
from workers.operations.recreate import identity, live_identities, recreate
from workers.rate_governor import RateGovernor

RELEASABLE = ("held",)
RESTORABLE = ("held", "pending")
SAMPLE_SIZE = 20
MAX_LOGGED_IDS = 100
# a restore that could not finish leaves its rows held under this reason (run it again)
RESTORE_HOLD = "restore:"


class SelectionError(Exception):
    """The selection cannot be acted on; nothing was changed."""


class BadSelection(SelectionError):
    """Empty, contradictory or malformed (the caller's usage)."""


class UnknownIds(SelectionError):
    def __init__(self, ids: Sequence[int]) -> None:
        super().__init__(f"no cleanup rows with ids {', '.join(map(str, ids))}")
        self.ids = list(ids)


class WrongStates(SelectionError):
    def __init__(self, states: dict[int, str], allowed: Sequence[str]) -> None:
        named = ", ".join(f"{i} is {s}" for i, s in sorted(states.items()))
        super().__init__(f"only {' or '.join(allowed)} rows qualify: {named}")
        self.states = states


@dataclass(frozen=True)
class Selection:
    """Which cleanups: `every` one that qualifies, the queue `ids`, or those matching all of
    `prefix` (of the public_id), `before` and `after` (when queued)."""

    every: bool = False
    ids: tuple[int, ...] = ()
    prefix: str | None = None
    before: datetime | None = None
    after: datetime | None = None

    def __post_init__(self) -> None:
        filters = self.prefix is not None or self.before or self.after
        if self.every and (self.ids or filters):
            raise BadSelection("`all` cannot be combined with ids or filters")
        if self.ids and filters:
            raise BadSelection("ids cannot be combined with prefix, before or after")
        if not (self.every or self.ids or filters):
            raise BadSelection("select rows: all, ids, prefix, before or after")
        if any(i <= 0 or i >= 2**63 for i in self.ids):
            raise BadSelection("queue ids are positive whole numbers")
        if self.prefix is not None and not self.prefix:
            raise BadSelection("prefix must not be empty")

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["ids"] = list(self.ids)
        for name in ("before", "after"):
            values[name] = values[name].isoformat() if values[name] else None
        return values


def parse_time(value: str) -> datetime:
    """An ISO 8601 time; without a zone it is UTC."""
    try:
        found = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadSelection(f"{value!r} is not an ISO 8601 time") from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Released:
    ids: list[int]
    breaker_reset: bool


@dataclass(frozen=True)
class Restored:
    """Per selected cleanup row, exactly one of the counts (they add up to the selection)."""

    ids: list[int]  # the rows that ended cancelled
    restored_soft: int  # the tombstone is live again
    recreated: int  # the row was re-created from Cloudinary
    already_live: int  # a live row of that asset was there already
    missing: int  # Cloudinary no longer has the asset: no row
    unresolved: int  # Cloudinary's answer could not be written (left held)
    left: int  # not fetched: the Admin API budget ran out (left held)
    stopped: str | None  # why the fetching stopped early
    breaker_reset: bool


@dataclass(frozen=True)
class Adopted:
    database_name: str
    database_oid: int
    system_identifier: str | None
    cloud_name: str | None
    requeued: list[int]


_COLUMNS = """
SELECT q.id, q.status, q.public_id, q.resource_type, q.delivery_type, q.media_asset_id,
       CASE WHEN m.id IS NULL THEN 'gone'
            WHEN m.deleted_at IS NULL THEN 'live' ELSE 'tombstone' END AS mirror
  FROM cloudinary_cleanup_queue q
  LEFT JOIN media_assets m ON m.id = q.media_asset_id
"""
# Locked: a drain cannot claim them meanwhile, nor another operator decide on them too.
_BY_IDS = text(f"{_COLUMNS} WHERE q.id = ANY(:ids) ORDER BY q.id FOR UPDATE OF q")
_BY_FILTER = text(f"""{_COLUMNS}
 WHERE q.status = ANY(:states)
   AND (CAST(:prefix AS text) IS NULL OR starts_with(q.public_id, :prefix))
   AND (CAST(:before AS timestamptz) IS NULL OR q.created_at < :before)
   AND (CAST(:after AS timestamptz) IS NULL OR q.created_at > :after)
 ORDER BY q.id FOR UPDATE OF q""")

_RELEASE = text("""
UPDATE cloudinary_cleanup_queue
   SET status = 'pending', released_at = now(), released_by = :by, held_reason = NULL,
       next_attempt_at = now(), updated_at = now()
 WHERE id = ANY(:ids) AND status = 'held'
""")

_ANY_HELD = text(
    "SELECT EXISTS (SELECT 1 FROM cloudinary_cleanup_queue WHERE status = 'held')"
)

# One tombstone per asset (the newest) comes back, and none whose name has a live row.
_UNDELETE = text("""
WITH chosen AS (
    SELECT DISTINCT ON (public_id, resource_type, delivery_type) id
      FROM media_assets WHERE id = ANY(:ids) AND deleted_at IS NOT NULL
     ORDER BY public_id, resource_type, delivery_type, deleted_at DESC, id DESC
)
UPDATE media_assets m SET deleted_at = NULL, updated_at = now()
  FROM chosen c
 WHERE m.id = c.id
   AND NOT EXISTS (SELECT 1 FROM media_assets l
                    WHERE l.deleted_at IS NULL AND l.public_id = m.public_id
                      AND l.resource_type = m.resource_type
                      AND l.delivery_type = m.delivery_type)
""")

# The restore trigger has already marked a restored row's cleanups skipped; the operator's
# decision is what they record.
_CANCEL = text("""
UPDATE cloudinary_cleanup_queue
   SET status = 'cancelled', held_reason = NULL, last_error = :note, updated_at = now(),
       completed_at = now()
 WHERE id = ANY(:ids)
""")

_HOLD = text("""
UPDATE cloudinary_cleanup_queue
   SET status = 'held', held_reason = :reason, updated_at = now()
 WHERE id = ANY(:ids)
""")

_ADOPT = text("""
INSERT INTO mediasync_database_identity
    (database_oid, database_name, system_identifier, cloud_name, recorded_at, adopted_by)
SELECT oid, datname, :system_identifier, :cloud_name, now(), :by
  FROM pg_database WHERE datname = current_database()
ON CONFLICT (id) DO UPDATE
   SET database_oid = EXCLUDED.database_oid, database_name = EXCLUDED.database_name,
       system_identifier = EXCLUDED.system_identifier, cloud_name = EXCLUDED.cloud_name,
       recorded_at = EXCLUDED.recorded_at, adopted_by = EXCLUDED.adopted_by
RETURNING database_oid, database_name
""")

_REQUEUE_IDENTITY_HOLDS = text("""
UPDATE cloudinary_cleanup_queue
   SET status = 'pending', held_reason = NULL, next_attempt_at = now(), updated_at = now()
 WHERE status = 'held' AND starts_with(held_reason, :prefix)
RETURNING id
""")

_AUDIT = text("""
INSERT INTO media_sync_log (operation, status, source, details)
VALUES (:operation, 'ok', 'operator', CAST(:details AS jsonb))
""")


def release(session: Session, selection: Selection, by: str) -> Released:
    """Send the selected held cleanups (even while the breaker is tripped)."""
    rows = select(session, selection, RELEASABLE)
    ids = [int(row.id) for row in rows]
    session.execute(_RELEASE, {"ids": ids, "by": by})
    breaker_reset = _reset_when_none_held(session)
    _audit(
        session,
        "cleanup.release",
        by,
        selection,
        rows,
        {"breaker_reset": breaker_reset},
    )
    return Released(ids, breaker_reset)


def restore(
    session: Session,
    selection: Selection,
    by: str,
    client: CloudinaryClient,
    governor: RateGovernor,
) -> Restored:
    """Give the selected (held or pending) cleanups' rows back and cancel the cleanups.

    Cloudinary is asked, within the Admin API budget, only for hard deletes (the row is
    gone); what it answers is written as a reconcile would write it (workers/reconcile),
    so a full reconcile afterwards finds nothing to change.
    """
    rows = select(session, selection, RESTORABLE)
    by_state: dict[str, list[Row[Any]]] = {"tombstone": [], "live": [], "gone": []}
    for row in rows:
        by_state[row.mirror].append(row)
    if by_state["tombstone"]:
        tombstones = [row.media_asset_id for row in by_state["tombstone"]]
        session.execute(_UNDELETE, {"ids": tombstones})
    live_now = live_identities(session, by_state["tombstone"])
    soft = [r.id for r in by_state["tombstone"] if identity(r) in live_now]
    # a tombstone not restored: another live row of that name was there first
    already = [r.id for r in by_state["live"]]
    already += [r.id for r in by_state["tombstone"] if identity(r) not in live_now]
    fetched = recreate(session, by_state["gone"], client, governor)
    already += fetched.already_live
    _cancel(session, soft + fetched.recreated + already, f"restored by {by}")
    _cancel(
        session,
        fetched.missing,
        f"restore by {by}: Cloudinary no longer has this asset; no row was created",
    )
    if fetched.unresolved:
        reason = f"{RESTORE_HOLD} Cloudinary's answer for this asset could not be read"
        session.execute(_HOLD, {"ids": fetched.unresolved, "reason": reason})
    if fetched.left:
        reason = f"{RESTORE_HOLD} not fetched ({fetched.stopped}); restore again"
        session.execute(_HOLD, {"ids": fetched.left, "reason": reason})
    breaker_reset = _reset_when_none_held(session)
    result = Restored(
        ids=sorted(soft + fetched.recreated + already + fetched.missing),
        restored_soft=len(soft),
        recreated=len(fetched.recreated),
        already_live=len(already),
        missing=len(fetched.missing),
        unresolved=len(fetched.unresolved),
        left=len(fetched.left),
        stopped=fetched.stopped,
        breaker_reset=breaker_reset,
    )
    counts = {k: v for k, v in asdict(result).items() if k != "ids"}
    _audit(session, "cleanup.restore", by, selection, rows, counts)
    return result


def adopt(session: Session, by: str, cloud_name: str | None) -> Adopted:
    """Record this database as the one mediasync serves (deleting in `cloud_name`; None:
    the next drain records its account) and send the deletes held because it was not."""
    system_identifier = guard.system_identifier(session)
    recorded = session.execute(
        _ADOPT,
        {"system_identifier": system_identifier, "cloud_name": cloud_name, "by": by},
    ).one()
    requeued = [
        int(i)
        for i in session.execute(
            _REQUEUE_IDENTITY_HOLDS, {"prefix": IDENTITY_HOLD}
        ).scalars()
    ]
    result = Adopted(
        database_name=str(recorded.database_name),
        database_oid=int(recorded.database_oid),
        system_identifier=system_identifier,
        cloud_name=cloud_name,
        requeued=sorted(requeued),
    )
    details = {"by": by, **asdict(result), "requeued": len(requeued)}
    details["queue_ids"] = result.requeued if len(requeued) <= MAX_LOGGED_IDS else None
    session.execute(
        _AUDIT, {"operation": "cleanup.adopt", "details": json.dumps(details)}
    )
    return result


def select(
    session: Session, selection: Selection, allowed: Sequence[str]
) -> list[Row[Any]]:
    """The selected cleanup rows, locked. Ids that do not exist, or are in a state other
    than `allowed`, raise (UnknownIds, WrongStates); filters take only `allowed` rows."""
    if selection.ids:
        wanted = sorted(set(selection.ids))
        rows = list(session.execute(_BY_IDS, {"ids": wanted}))
        unknown = sorted(set(wanted) - {int(row.id) for row in rows})
        if unknown:
            raise UnknownIds(unknown)
        wrong = {int(r.id): str(r.status) for r in rows if r.status not in allowed}
        if wrong:
            raise WrongStates(wrong, allowed)
        return rows
    params = {
        "states": list(allowed),
        "prefix": selection.prefix,
        "before": selection.before,
        "after": selection.after,
    }
    return list(session.execute(_BY_FILTER, params))


def _cancel(session: Session, ids: list[int], note: str) -> None:
    if ids:
        session.execute(_CANCEL, {"ids": ids, "note": note})


def _reset_when_none_held(session: Session) -> bool:
    """An operator decided on every held row: the breaker closes and its window restarts."""
    if session.execute(_ANY_HELD).scalar_one():
        return False
    return reset_breaker(session)


def _audit(
    session: Session,
    operation: str,
    by: str,
    selection: Selection,
    rows: Sequence[Row[Any]],
    extra: dict[str, Any],
) -> None:
    details = {
        "by": by,
        "count": len(rows),
        "selection": selection.as_dict(),
        "sample_public_ids": [str(r.public_id) for r in rows[:SAMPLE_SIZE]],
        "queue_ids": [int(r.id) for r in rows] if len(rows) <= MAX_LOGGED_IDS else None,
        **extra,
    }
    session.execute(_AUDIT, {"operation": operation, "details": json.dumps(details)})
