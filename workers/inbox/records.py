"""What the apply writes besides the mirror: each inbox row's new status and its audit rows.

Set-based: one UPDATE for the batch's inbox rows and one INSERT for their media_sync_log
entries, whatever the batch size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

from db import json_codec
from workers import sql
from workers.inbox.writes import Outcome

# The longer statements are in workers/inbox/queries.sql.
_QUERIES = sql.load("workers.inbox")
_APPLIED = text(_QUERIES["record_applied"])

_FAILED = text("""
UPDATE webhook_inbox
   SET status = :status, attempts = :attempts, last_error = :error,
       next_attempt_at = now() + make_interval(secs => :delay_s)
 WHERE id = :id
""")

_LOG = text(_QUERIES["log_outcomes"])

# The batch's statuses and its audit rows in one round trip.
_APPLIED_AND_LOG = text(f"""
WITH applied AS ({_APPLIED.text.strip()})
{_LOG.text.strip().replace(":rows", ":log")}
""")


class Applied(NamedTuple):
    """One inbox row's result: its new status and what it did to each asset it names."""

    inbox_id: int
    notification_type: str
    status: str  # applied | ignored
    outcomes: Sequence[Outcome]
    duration_ms: float


def record_applied(session: Session, results: Sequence[Applied]) -> None:
    if not results:
        return
    statuses = [{"id": r.inbox_id, "status": r.status} for r in results]
    session.execute(
        _APPLIED_AND_LOG,
        {
            "rows": json_codec.dumps(statuses),
            "ids": [r.inbox_id for r in results],
            "log": json_codec.dumps(_log_rows(results)),
        },
    )


def record_failure(
    session: Session,
    result: Applied,
    *,
    attempts: int,
    error: str,
    final: bool,
    delay_s: float,
) -> None:
    session.execute(
        _FAILED,
        {
            "id": result.inbox_id,
            "status": "failed" if final else "pending",
            "attempts": attempts,
            "error": error,
            "delay_s": delay_s,
        },
    )
    log(session, [result])


def log(session: Session, results: Sequence[Applied]) -> None:
    """One media_sync_log row per outcome, naming the inbox row it came from."""
    rows = _log_rows(results)
    if rows:
        session.execute(_LOG, {"rows": json_codec.dumps(rows)})


def _log_rows(results: Sequence[Applied]) -> list[dict[str, Any]]:
    rows = []
    for result in results:
        for outcome in result.outcomes:
            details: dict[str, Any] = {"inbox_id": result.inbox_id}
            if outcome.detail:
                details["detail"] = outcome.detail
            failed = outcome.status in ("retry", "failed")
            rows.append(
                {
                    "operation": result.notification_type,
                    "status": outcome.status,
                    "public_id": outcome.public_id,
                    "asset_id": outcome.asset_id,
                    "error": outcome.detail if failed else None,
                    "duration_ms": result.duration_ms,
                    "details": details,
                }
            )
    return rows
