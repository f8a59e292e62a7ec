"""The end of a full run: which scopes to list, and live rows whose asset is gone.

"Gone" means: in a listed scope, not seen by this run, and older than the run's start minus
a grace window (Cloudinary's listings lag a fresh upload; a row the webhooks touched during
the run is not judged on a listing that predates it). Such rows are marked deleted with
echo suppression, so the delete trigger queues no cleanup for an asset that no longer exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from workers import sql

# Every account has these; other (resource_type, type) pairs are listed when the mirror
# holds rows of them.
DEFAULT_SCOPES = (("image", "upload"), ("video", "upload"), ("raw", "upload"))

_SCOPES = text(
    "SELECT DISTINCT resource_type, delivery_type FROM media_assets"
    " ORDER BY resource_type, delivery_type"
)

# Both statements begin with the unseen rows (a WITH clause): workers/reconcile/queries.sql.
_QUERIES = sql.load("workers.reconcile")
_CANDIDATES = _QUERIES["sweep_candidates"]
_MEASURE = text(f"{_CANDIDATES}\n{_QUERIES['sweep_measure']}")
_MARK = text(f"{_CANDIDATES}\n{_QUERIES['sweep_mark']}")


@dataclass(frozen=True)
class Measure:
    live: int
    gone: int

    @property
    def share(self) -> float:
        return self.gone / self.live if self.live else 0.0


def scopes(session: Session) -> list[tuple[str, str]]:
    """The (resource_type, delivery_type) pairs a full run lists: the defaults first."""
    found = [(str(rt), str(dt)) for rt, dt in session.execute(_SCOPES)]
    return list(DEFAULT_SCOPES) + [s for s in found if s not in DEFAULT_SCOPES]


def measure(
    session: Session, run_id: int, scope_list: list[tuple[str, str]], cutoff: datetime
) -> Measure:
    # the count is capped only by what could ever be allowed, to keep it bounded
    params = {**_params(run_id, scope_list, cutoff), "limit": 2**62}
    row = session.execute(_MEASURE, params).mappings().one()
    return Measure(live=int(row["live"]), gone=int(row["gone"]))


def blast_radius_exceeded(
    found: Measure, *, max_deletes: int, max_share: float
) -> str | None:
    """Why marking these rows deleted is refused, or None when it is within limits.

    A listing that comes back short (wrong account, a permissions change, an outage that
    answers 200 with nothing) looks exactly like mass deletion; this is the guard.
    """
    if found.gone > max_deletes:
        return (
            f"blast radius: {found.gone} live rows would be marked deleted, "
            f"more than the limit of {max_deletes} (MEDIASYNC_RECONCILE_MAX_DELETES)"
        )
    if found.share > max_share:
        return (
            f"blast radius: {found.gone} of {found.live} live rows "
            f"({found.share:.0%}) would be marked deleted, more than "
            f"{max_share:.0%} (MEDIASYNC_RECONCILE_MAX_DELETE_SHARE)"
        )
    return None


def mark_gone(
    session: Session,
    run_id: int,
    scope_list: list[tuple[str, str]],
    cutoff: datetime,
    limit: int,
) -> int:
    """Mark unseen old live rows deleted; the trigger queues nothing (echo suppression)."""
    session.execute(text("SET LOCAL mediasync.origin = 'cloudinary'"))
    params = {**_params(run_id, scope_list, cutoff), "limit": limit}
    return int(session.execute(_MARK, params).mappings().one()["marked"])


def _params(
    run_id: int, scope_list: list[tuple[str, str]], cutoff: datetime
) -> dict[str, object]:
    return {
        "run_id": run_id,
        "resource_types": [rt for rt, _ in scope_list],
        "delivery_types": [dt for _, dt in scope_list],
        "cutoff": cutoff,
    }


_MISSING = text(_QUERIES["mark_missing"])


def mark_missing(
    session: Session,
    run_id: int,
    identity: tuple[str, str, str],
    cutoff: datetime,
    *,
    dry_run: bool,
) -> int:
    """Cloudinary answered 404 for this identity: mark its live row deleted when it is
    older than the grace window (a brand-new row's asset may not be visible yet)."""
    public_id, resource_type, delivery_type = identity
    if not dry_run:
        session.execute(text("SET LOCAL mediasync.origin = 'cloudinary'"))
    params = {
        "run_id": run_id,
        "public_id": public_id,
        "resource_type": resource_type,
        "delivery_type": delivery_type,
        "cutoff": cutoff,
        "dry_run": dry_run,
    }
    return int(session.execute(_MISSING, params).mappings().one()["marked"])
