"""What the apply writes besides the mirror: each inbox row's new status and its audit rows.

Set-based: one UPDATE for the batch's inbox rows and one INSERT for their media_sync_log
entries, whatever the batch size.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from workers.apply_rows import Outcome

_APPLIED = text("""
UPDATE webhook_inbox i
   SET status = u.status, attempts = i.attempts + 1, applied_at = now(), last_error = NULL
  FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[])) AS u(id, status)
 WHERE i.id = u.id
""")

_FAILED = text("""
UPDATE webhook_inbox
   SET status = :status, attempts = :attempts, last_error = :error,
       next_attempt_at = now() + make_interval(secs => :delay_s)
 WHERE id = :id
""")

_LOG = text("""
INSERT INTO media_sync_log
    (operation, status, public_id, asset_id, source, error_message, duration_ms, details)
SELECT u.operation, u.status, u.public_id, u.asset_id, 'webhook', u.error, u.duration_ms,
       u.details::jsonb
  FROM unnest(CAST(:operations AS text[]), CAST(:statuses AS text[]),
              CAST(:public_ids AS text[]), CAST(:asset_ids AS text[]),
              CAST(:errors AS text[]), CAST(:durations AS float8[]),
              CAST(:details AS text[]))
       AS u(operation, status, public_id, asset_id, error, duration_ms, details)
""")


@dataclass(frozen=True)
class Applied:
    """One inbox row's result: its new status and what it did to each asset it names."""

    inbox_id: int
    notification_type: str
    status: str  # applied | ignored
    outcomes: Sequence[Outcome]
    duration_ms: float


def record_applied(session: Session, results: Sequence[Applied]) -> None:
    if not results:
        return
    session.execute(
        _APPLIED,
        {
            "ids": [r.inbox_id for r in results],
            "statuses": [r.status for r in results],
        },
    )
    log(session, results)


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
    columns: dict[str, list[Any]] = {
        "operations": [],
        "statuses": [],
        "public_ids": [],
        "asset_ids": [],
        "errors": [],
        "durations": [],
        "details": [],
    }
    for result in results:
        for outcome in result.outcomes:
            details: dict[str, Any] = {"inbox_id": result.inbox_id}
            if outcome.detail:
                details["detail"] = outcome.detail
            failed = outcome.status in ("retry", "failed")
            columns["operations"].append(result.notification_type)
            columns["statuses"].append(outcome.status)
            columns["public_ids"].append(outcome.public_id)
            columns["asset_ids"].append(outcome.asset_id)
            columns["errors"].append(outcome.detail if failed else None)
            columns["durations"].append(result.duration_ms)
            columns["details"].append(json.dumps(details))
    if columns["statuses"]:
        session.execute(_LOG, columns)
