"""An asset's story in time order: webhooks received, row state, cleanup attempts, repairs.

Backs `mediasync explain PUBLIC_ID` and `GET /api/assets/<public_id>/history`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

# Notifications name an asset at the top level (upload, rename) or inside `resources`, which
# is a list of objects or an object keyed by public_id (reference/cloudinary.md §1.5).
_INBOX_FOR_PUBLIC_ID = text(
    """
    SELECT id, received_at, notification_type, status, last_error, applied_at
      FROM webhook_inbox
     -- the index holds the name's first 512 characters (db/migrations/0012)
     WHERE (left(body->>'public_id', 512) = left(:pid, 512) AND body->>'public_id' = :pid)
        OR (body ?| ARRAY['from_public_id', 'to_public_id', 'resources'] AND (
            body->>'from_public_id' = :pid
            OR body->>'to_public_id' = :pid
            OR (jsonb_typeof(body->'resources') = 'object' AND body->'resources' ? :pid)
            OR (jsonb_typeof(body->'resources') = 'array'
                AND body->'resources' @> jsonb_build_array(jsonb_build_object('public_id', :pid)))))
     ORDER BY received_at, id
     LIMIT 500
    """
)


@dataclass(frozen=True)
class HistoryEvent:
    at: datetime
    kind: str  # webhook | row | cleanup | log
    summary: str
    details: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


def asset_history(session: Session, public_id: str) -> list[HistoryEvent]:
    events: list[HistoryEvent] = []
    for row in session.execute(_INBOX_FOR_PUBLIC_ID, {"pid": public_id}).mappings():
        events.append(
            HistoryEvent(
                row["received_at"],
                "webhook",
                f"received {row['notification_type']} notification #{row['id']}"
                f" ({row['status']})",
                {k: _plain(v) for k, v in row.items()},
            )
        )
    rows = session.execute(
        text(
            "SELECT id, asset_id, resource_type, delivery_type, version, created_at,"
            " updated_at, deleted_at, sync_status FROM media_assets WHERE public_id = :pid"
            " ORDER BY created_at, id"
        ),
        {"pid": public_id},
    ).mappings()
    for row in rows:
        details = {k: _plain(v) for k, v in row.items()}
        events.append(
            HistoryEvent(
                row["created_at"], "row", f"mirror row #{row['id']} created", details
            )
        )
        if row["deleted_at"] is not None:
            events.append(
                HistoryEvent(
                    row["deleted_at"],
                    "row",
                    f"mirror row #{row['id']} deleted",
                    details,
                )
            )
    cleanups = session.execute(
        text(
            "SELECT id, reason, status, attempts, last_error, response, created_at,"
            " completed_at FROM cloudinary_cleanup_queue WHERE public_id = :pid"
            " ORDER BY created_at, id"
        ),
        {"pid": public_id},
    ).mappings()
    for row in cleanups:
        details = {k: _plain(v) for k, v in row.items()}
        events.append(
            HistoryEvent(
                row["created_at"],
                "cleanup",
                f"cleanup #{row['id']} queued ({row['reason']}); now {row['status']}",
                details,
            )
        )
    logs = session.execute(
        text(
            "SELECT id, operation, status, source, error_message, duration_ms, details,"
            " created_at FROM media_sync_log WHERE public_id = :pid ORDER BY created_at, id"
            " LIMIT 1000"
        ),
        {"pid": public_id},
    ).mappings()
    for row in logs:
        error = f": {row['error_message']}" if row["error_message"] else ""
        events.append(
            HistoryEvent(
                row["created_at"],
                "log",
                f"{row['source']} {row['operation']} {row['status']}{error}",
                {k: _plain(v) for k, v in row.items()},
            )
        )
    events.sort(key=lambda e: e.at)
    return events


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
