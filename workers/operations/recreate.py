"""Re-create the mirror rows of hard-deleted assets from Cloudinary's current state, written
as reconcile writes them (workers/reconcile/rows.py, the page repair's insert), so that a
full reconcile afterwards finds nothing to change. Used by `deletes.restore`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from workers.cloudinary_client import CloudinaryClient
from workers.rate_governor import RateGovernor
from workers.reconcile.rows import mirror_rows
from workers.reconcile.source import AdminCalls, Paused, TransientFailure

BATCH = 100  # the Admin API's most public_ids per `resources` call

_LIVE = text("""
SELECT m.public_id, m.resource_type, m.delivery_type FROM media_assets m
  JOIN unnest(CAST(:pids AS text[]), CAST(:rts AS text[]), CAST(:dts AS text[]))
       AS u(public_id, resource_type, delivery_type)
    ON m.public_id = u.public_id AND m.resource_type = u.resource_type
   AND m.delivery_type = u.delivery_type
 WHERE m.deleted_at IS NULL
""")


@dataclass
class Recreated:
    """Where each hard-deleted row's cleanup ended (queue ids)."""

    recreated: list[int] = field(default_factory=list)
    already_live: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    unresolved: list[int] = field(default_factory=list)
    left: list[int] = field(default_factory=list)  # not fetched: the budget ran out
    stopped: str | None = None  # why fetching stopped early


def recreate(
    session: Session,
    rows: list[Row[Any]],
    client: CloudinaryClient,
    governor: RateGovernor,
) -> Recreated:
    """Re-create the rows of hard deletes from Cloudinary, ≤ 100 assets per Admin call,
    each call within the shared budget (all of it: an operator's restore comes first)."""
    fetched = Recreated()
    calls = AdminCalls(client, governor, share=1.0)
    batches = _batches(rows)
    for done, batch in enumerate(batches):
        public_ids = sorted({r.public_id for r in batch})
        fetched_at = datetime.now(UTC)
        try:
            answer = calls.call(
                functools.partial(
                    client.resources_by_public_ids,
                    public_ids,
                    batch[0].resource_type,
                    batch[0].delivery_type,
                    tags=True,
                    context=True,
                    metadata=True,
                )
            )
        except (Paused, TransientFailure) as exc:
            # the rest waits, held, for another restore: never past the budget
            fetched.stopped = str(exc)
            fetched.left = [r.id for rest in batches[done:] for r in rest]
            break
        resources = answer.get("resources") or []
        found, _unreadable = mirror_rows(resources)
        inserted = _insert(session, found, fetched_at)
        live = live_identities(session, batch)
        answered = {str(res.get("public_id")) for res in resources}
        for row in batch:
            if identity(row) in inserted:
                fetched.recreated.append(row.id)
            elif identity(row) in live:
                fetched.already_live.append(row.id)
            elif row.public_id in answered:
                fetched.unresolved.append(row.id)
            else:
                fetched.missing.append(row.id)
    return fetched


def _batches(rows: list[Row[Any]]) -> list[list[Row[Any]]]:
    """The rows grouped by resource and delivery type, ≤ BATCH distinct public_ids each."""
    groups: dict[tuple[str, str], dict[str, list[Row[Any]]]] = {}
    for row in rows:
        kind = (row.resource_type, row.delivery_type)
        groups.setdefault(kind, {}).setdefault(row.public_id, []).append(row)
    batches = []
    for names in groups.values():
        listed = list(names.values())
        for start in range(0, len(listed), BATCH):
            batches.append([r for same in listed[start : start + BATCH] for r in same])
    return batches


def _insert(
    session: Session, rows: list[dict[str, Any]], fetched_at: datetime
) -> set[tuple[str, str, str]]:
    """Insert reconcile's rows (workers/reconcile/rows.py) the way its page repair does:
    synced, as of `fetched_at`, every field stamped as of the listing (stamps '{}').
    A row of the same name or asset_id written meanwhile stands."""
    if not rows:
        return set()
    columns = ", ".join(rows[0])  # reconcile's column names, not input
    statement = text(f"""
        INSERT INTO media_assets ({columns}, sync_status, synced_at, last_event_at, stamps)
        SELECT {columns}, 'synced', now(), :fetched_at, '{{}}'
          FROM jsonb_populate_recordset(CAST(NULL AS media_assets), CAST(:rows AS jsonb))
        ON CONFLICT DO NOTHING
        RETURNING public_id, resource_type, delivery_type""")  # noqa: S608
    found = session.execute(
        statement, {"rows": json.dumps(rows), "fetched_at": fetched_at}
    )
    return {(str(a), str(b), str(c)) for a, b, c in found}


def identity(row: Row[Any]) -> tuple[str, str, str]:
    return (str(row.public_id), str(row.resource_type), str(row.delivery_type))


def live_identities(
    session: Session, rows: Iterable[Row[Any]]
) -> set[tuple[str, str, str]]:
    """Which of these cleanup rows' assets have a live mirror row."""
    names = list({identity(row) for row in rows})
    if not names:
        return set()
    params = {
        "pids": [n[0] for n in names],
        "rts": [n[1] for n in names],
        "dts": [n[2] for n in names],
    }
    return {(str(a), str(b), str(c)) for a, b, c in session.execute(_LIVE, params)}
