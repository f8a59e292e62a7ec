"""The operator's own entries in media_sync_log: what a named operator did (or tried) from
the console. Takes a Session and never commits: the entry lands with the action's effect,
in the same transaction, or (for a refusal) on its own."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

# every console entry's operation begins with this (the audit page filters on it)
CONSOLE = "console."

_RECORD = text("""
INSERT INTO media_sync_log (operation, status, public_id, source, details)
VALUES (:operation, :status, :public_id, 'operator', CAST(:details AS jsonb))
RETURNING id
""")


def record(
    session: Session,
    action: str,
    operator: str,
    *,
    status: str = "done",
    public_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Write `console.<action>` with `operator` in details["operator"]; the entry's id."""
    values = {**(details or {}), "operator": operator}
    found: int = session.execute(
        _RECORD,
        {
            "operation": CONSOLE + action,
            "status": status,
            "public_id": public_id,
            "details": json.dumps(values, default=str),
        },
    ).scalar_one()
    return found
