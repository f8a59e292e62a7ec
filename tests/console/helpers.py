"""Rows for the console's tests, written straight into the test's database."""

from __future__ import annotations

import json
from typing import Any

from tests.operator_api.conftest import run_sql


def add_inbox(
    sessions: Any,
    n: int,
    status: str,
    public_id: str = "inbox/a",
    notification_type: str = "upload",
) -> int:
    body = json.dumps(
        {"notification_type": notification_type, "public_id": public_id, "n": n}
    )
    return int(
        run_sql(
            sessions,
            "INSERT INTO webhook_inbox (digest, notification_type, body, status, attempts,"
            " last_error, applied_at) VALUES (md5(:body), :type, CAST(:body AS jsonb),"
            " :status, CASE WHEN :status = 'failed' THEN 5 ELSE 0 END,"
            " CASE WHEN :status = 'failed' THEN 'KeyError: boom' END,"
            " CASE WHEN :status IN ('applied', 'ignored') THEN now() END) RETURNING id",
            body=body,
            status=status,
            type=notification_type,
        )[0][0]
    )


def add_cleanups(sessions: Any, public_ids: list[str]) -> list[int]:
    """Mirror rows, deleted: the trigger queues one cleanup each (pending)."""
    for public_id in public_ids:
        run_sql(
            sessions,
            "INSERT INTO media_assets (public_id, asset_id, version)"
            " VALUES (:pid, md5(:pid), 1)",
            pid=public_id,
        )
    run_sql(
        sessions,
        "DELETE FROM media_assets WHERE public_id = ANY(:pids)",
        pids=public_ids,
    )
    rows = run_sql(
        sessions,
        "SELECT id FROM cloudinary_cleanup_queue WHERE public_id = ANY(:pids) ORDER BY id",
        pids=public_ids,
    )
    return [int(r[0]) for r in rows]


def set_cleanup_status(sessions: Any, ids: list[int], status: str) -> None:
    run_sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET status = :status,"
        " last_error = CASE WHEN :status = 'failed' THEN 'Cloudinary said 500' END,"
        " attempts = CASE WHEN :status = 'failed' THEN 8 ELSE attempts END"
        " WHERE id = ANY(:ids)",
        status=status,
        ids=ids,
    )
