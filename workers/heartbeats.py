"""Liveness marks ("X was alive at T") kept in mediasync_heartbeats."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

CANARY = "worker-canary"


def beat(session: Session, name: str, details: dict[str, Any] | None = None) -> None:
    session.execute(
        text(
            "INSERT INTO mediasync_heartbeats (name, last_seen, details)"
            " VALUES (:name, now(), CAST(:details AS jsonb))"
            " ON CONFLICT (name) DO UPDATE SET last_seen = now(), details = EXCLUDED.details"
        ),
        {"name": name, "details": _json(details or {})},
    )


def last_seen(session: Session, name: str) -> datetime | None:
    value: datetime | None = session.execute(
        text("SELECT last_seen FROM mediasync_heartbeats WHERE name = :name"),
        {"name": name},
    ).scalar_one_or_none()
    return value


def ages(session: Session, prefix: str = "") -> dict[str, float]:
    """Seconds since each heartbeat whose name starts with `prefix`."""
    rows = session.execute(
        text(
            "SELECT name, extract(epoch FROM now() - last_seen) FROM mediasync_heartbeats"
            " WHERE name LIKE :prefix || '%'"
        ),
        {"prefix": prefix},
    )
    return {name: float(age) for name, age in rows}


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value)
