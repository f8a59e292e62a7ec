"""The delete guardrails a batch passes before it is claimed (README "Safety").

A Cloudinary delete cannot be undone, so before any cleanup row is claimed for sending, in
the claiming transaction and under the claim turn (workers/cleanup/queue.py), the drain
asks `admit`:

- **database identity**: this database must be the one mediasync was set up on
  (mediasync_database_identity, recorded at migrate). A copy (pg_dump into another
  database or cluster) holds every cleanup until an operator adopts it.
- **the mass-delete breaker**: more cleanups queued within the window than the limit (the
  smaller of MEDIASYNC_DELETE_BREAKER_MAX_ROWS and MAX_SHARE of the live assets, never
  below BREAKER_FLOOR) trips it; while tripped every cleanup not yet sent is held, and only
  rows an operator released are sent. The window counts rows queued since the breaker was
  last reset, so an operator's decision on a burst is not undone by the burst itself.
- **the delay**: a row is due only MEDIASYNC_DELETE_DELAY seconds after its delete.

`Admission.max_id` bounds the claim to the rows the breaker counted: a host delete queued
within the window and committed after the count waits for the next batch's count (rows
older than the window, and rows an operator released, are not bounded). The scope (MEDIASYNC_DELETE_SCOPE) is checked
per claimed row by the drain, against the folder and tags the row had when deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from workers.config import DeleteScope, Settings

# The breaker never trips on fewer rows than this, whatever the share says: a small
# library must still be able to delete a handful of assets at once.
BREAKER_FLOOR = 100
SAMPLE_SIZE = 20
# held_reason begins with which guard holds the row (an operator's adopt frees only the
# identity's, a release or restore any)
IDENTITY_HOLD = "database:"
BREAKER_HOLD = "breaker:"
# the media_sync_log entries saying a guard held rows
TRIP_OPERATION = "cleanup.breaker_tripped"
IDENTITY_OPERATION = "cleanup.database_not_adopted"

_IDENTITY = text("""
SELECT i.database_oid = d.oid AND i.database_name = d.datname AS same_database,
       i.system_identifier, i.cloud_name, d.oid AS database_oid, d.datname AS database_name
  FROM mediasync_database_identity i, pg_database d
 WHERE d.datname = current_database()
""")

_RECORD_IDENTITY = text("""
INSERT INTO mediasync_database_identity (database_oid, database_name, cloud_name)
SELECT oid, datname, :cloud_name FROM pg_database WHERE datname = current_database()
ON CONFLICT (id) DO NOTHING
""")

_SET_CLOUD = text(
    "UPDATE mediasync_database_identity SET cloud_name = :cloud_name"
    " WHERE cloud_name IS NULL"
)

_TRIPPED = text("SELECT tripped_at IS NOT NULL FROM mediasync_delete_breaker")

# The window's start: `window_s` ago, or the last reset if that is later.
_SINCE = (
    "greatest(now() - make_interval(secs => :window_s),"
    " (SELECT reset_at FROM mediasync_delete_breaker))"
)

# Rows the host app queued within the window (operator and reconcile deletes have their own
# guards), counted up to `cap`; max(id): the newest row counted.
_WINDOW = text(f"""
SELECT count(*) AS queued, max(id) AS max_id, {_SINCE} AS since FROM (
    SELECT id FROM cloudinary_cleanup_queue
     WHERE created_at > {_SINCE}
       AND reason IN ('hard_delete', 'soft_delete')
     LIMIT :cap
) w
""")  # noqa: S608 -- constants of this module, no input

_QUEUED = text(f"""
SELECT count(*) FROM cloudinary_cleanup_queue
 WHERE created_at > {_SINCE} AND reason IN ('hard_delete', 'soft_delete')
""")  # noqa: S608 -- constants of this module, no input

_LIVE_ASSETS = text("SELECT count(*) FROM media_assets WHERE deleted_at IS NULL")

_TRIP = text("""
INSERT INTO mediasync_delete_breaker AS b (id, tripped_at, details)
VALUES (true, now(), CAST(:details AS jsonb))
ON CONFLICT (id) DO UPDATE SET tripped_at = now(), details = EXCLUDED.details
""")

# Every cleanup not yet sent (and, for the breaker, not released by an operator) waits
# for the operator.
_HOLD = text("""
UPDATE cloudinary_cleanup_queue
   SET status = 'held', held_reason = :reason, updated_at = now()
 WHERE status = 'pending' AND (released_at IS NULL OR NOT :breaker)
""")

_RESET = text(
    "UPDATE mediasync_delete_breaker SET tripped_at = NULL, reset_at = now()"
    " WHERE tripped_at IS NOT NULL"
)

_SYSTEM_IDENTIFIER = text("SELECT system_identifier::text FROM pg_control_system()")

_SAMPLE = text(f"""
SELECT public_id, actor FROM cloudinary_cleanup_queue
 WHERE created_at > {_SINCE}
   AND reason IN ('hard_delete', 'soft_delete')
 ORDER BY id LIMIT :limit
""")  # noqa: S608 -- constants of this module, no input

_ACTORS = text(f"""
SELECT actor, count(*) FROM (
    SELECT actor FROM cloudinary_cleanup_queue
     WHERE created_at > {_SINCE}
       AND reason IN ('hard_delete', 'soft_delete')
     LIMIT :cap
) w GROUP BY actor ORDER BY count(*) DESC
""")  # noqa: S608 -- constants of this module, no input

_LOG = text("""
INSERT INTO media_sync_log (operation, status, source, details)
VALUES (:operation, 'held', 'trigger', CAST(:details AS jsonb))
""")


@dataclass(frozen=True)
class Guardrails:
    """The guardrails' settings (workers/config.py has each one's variable and default)."""

    window_s: int = 600
    max_rows: int = 500
    max_share: float = 0.10
    delay_s: int = 0
    scope: DeleteScope | None = None
    cloud_name: str | None = (
        None  # the account deletes go to, checked against the record
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> Guardrails:
        return cls(
            window_s=settings.delete_breaker_window_s,
            max_rows=settings.delete_breaker_max_rows,
            max_share=settings.delete_breaker_max_share,
            delay_s=settings.delete_delay_s,
            scope=settings.delete_scope,
            cloud_name=settings.cloudinary.cloud_name if settings.cloudinary else None,
        )

    @property
    def breaker_on(self) -> bool:
        return bool(self.window_s and (self.max_rows or self.max_share))


@dataclass(frozen=True)
class Admission:
    """What a batch may claim: nothing (`blocked`), only released rows (`tripped`), or the
    due rows up to `max_id`, each at least `delay_s` old."""

    blocked: str | None = None  # why nothing may be sent
    tripped: bool = False
    max_id: int | None = None  # None: no bound
    since: datetime | None = None  # the window's start: older rows are not bounded
    delay_s: int = 0


def admit(session: Session, rails: Guardrails) -> Admission:
    """Check the guardrails for the next batch, holding rows they stop (see the module)."""
    reason = _identity_problem(session, rails)
    if reason is not None:
        held = session.execute(
            _HOLD, {"reason": f"{IDENTITY_HOLD} {reason}", "breaker": False}
        ).rowcount  # type: ignore[attr-defined]  # DML results have rowcount
        if held:
            _log(session, IDENTITY_OPERATION, {"reason": reason, "held": held})
        return Admission(blocked=reason)
    if session.execute(_TRIPPED).scalar():
        _hold_for_breaker(session, "the mass-delete breaker is tripped")
        return Admission(tripped=True, delay_s=rails.delay_s)
    if not rails.breaker_on:
        return Admission(delay_s=rails.delay_s)
    params = {"window_s": rails.window_s}
    cap = (rails.max_rows or 10_000_000) + 1
    counted = session.execute(_WINDOW, {**params, "cap": cap}).one()
    queued = int(counted.queued)
    if queued > BREAKER_FLOOR:
        limit = _limit(session, rails, queued)
        if queued > limit:
            _trip(session, rails, params, queued, limit)
            return Admission(tripped=True, delay_s=rails.delay_s)
    # 0 when the window was empty: rows committed since wait for the next count
    return Admission(
        max_id=counted.max_id or 0, since=counted.since, delay_s=rails.delay_s
    )


def _limit(session: Session, rails: Guardrails, queued: int) -> int:
    """The smaller of the two limits (never below the floor). The share is of the live
    assets before the burst: those live now and those the window's rows deleted."""
    limits = []
    if rails.max_rows:
        limits.append(rails.max_rows)
    if rails.max_share and (
        not limits or queued <= limits[0]  # past the row limit it trips anyway
    ):
        live = int(session.execute(_LIVE_ASSETS).scalar_one())
        limits.append(int(rails.max_share * (live + queued)))
    return max(BREAKER_FLOOR, min(limits))


def _trip(
    session: Session,
    rails: Guardrails,
    params: dict[str, Any],
    queued: int,
    limit: int,
) -> None:
    # the window was counted only up to what decides; the audit says how many there are
    queued = int(session.execute(_QUEUED, params).scalar_one())
    sample = session.execute(_SAMPLE, {**params, "limit": SAMPLE_SIZE}).all()
    actors = session.execute(_ACTORS, {**params, "cap": queued + 1}).all()
    details = {
        "queued": queued,
        "limit": limit,
        "window_s": params["window_s"],
        "max_rows": rails.max_rows,
        "max_share": rails.max_share,
        "sample_public_ids": [row.public_id for row in sample],
        "actors": {actor or "unknown": int(count) for actor, count in actors},
    }
    session.execute(_TRIP, {"details": json.dumps(details)})
    held = _hold_for_breaker(
        session, f"the mass-delete breaker tripped: {queued} queued > {limit}"
    )
    _log(session, TRIP_OPERATION, {**details, "held": held})


def _hold_for_breaker(session: Session, reason: str) -> int:
    result = session.execute(
        _HOLD, {"reason": f"{BREAKER_HOLD} {reason}", "breaker": True}
    )
    return int(result.rowcount)  # type: ignore[attr-defined]  # DML results have rowcount


def reset_breaker(session: Session) -> bool:
    """Close the breaker (an operator decided on the burst): the window starts afresh, so
    the rows that tripped it no longer count. False if it was not tripped."""
    result = session.execute(_RESET)
    return bool(result.rowcount)  # type: ignore[attr-defined]  # DML results have rowcount


def identity_mismatch(session: Session, cloud_name: str | None) -> str | None:
    """Why deletes may not go out from this database to `cloud_name` (None: they may, or
    no identity is recorded yet); reads only (for `mediasync cleanup status`)."""
    return _check_identity(session, cloud_name)[1]


def _identity_problem(session: Session, rails: Guardrails) -> str | None:
    """identity_mismatch, recording what is not recorded yet: the identity itself (the row
    is gone: tables emptied by hand; this database is the one now) and the cloud."""
    found, problem = _check_identity(session, rails.cloud_name)
    if found is None:
        session.execute(_RECORD_IDENTITY, {"cloud_name": rails.cloud_name})
    elif problem is None and rails.cloud_name is not None and found.cloud_name is None:
        session.execute(_SET_CLOUD, {"cloud_name": rails.cloud_name})
    return problem


def _check_identity(session: Session, cloud_name: str | None) -> tuple[Any, str | None]:
    found = session.execute(_IDENTITY).one_or_none()
    if found is None:
        return None, None
    if not found.same_database:
        return found, (
            f"this database ({found.database_name}) is a copy of the one mediasync was set"
            " up on; `mediasync cleanup adopt` once it is meant to delete in"
            f" {found.cloud_name or 'this cloud'}"
        )
    if found.system_identifier is not None:
        current = system_identifier(session)
        if current is not None and current != found.system_identifier:
            return found, (
                "this database was copied from another PostgreSQL cluster;"
                " `mediasync cleanup adopt` once it is meant to delete"
            )
    if cloud_name is not None and found.cloud_name not in (None, cloud_name):
        return found, (
            f"this database deletes in cloud {found.cloud_name!r}, not {cloud_name!r};"
            " `mediasync cleanup adopt` to switch"
        )
    return found, None


def system_identifier(session: Session) -> str | None:
    """The cluster's identifier, where this role may read it (else None); read once per
    process and database."""
    key = str(session.connection().engine.url)
    if key not in _system_identifiers:
        try:
            with session.begin_nested():
                value = session.execute(_SYSTEM_IDENTIFIER).scalar_one()
        except DBAPIError:  # no privilege to read it: the database's oid still tells
            value = None
        _system_identifiers[key] = value
    return _system_identifiers[key]


_system_identifiers: dict[str, str | None] = {}


def _log(session: Session, operation: str, details: dict[str, Any]) -> None:
    session.execute(_LOG, {"operation": operation, "details": json.dumps(details)})
