"""Liveness marks ("X was alive at T") kept in mediasync_heartbeats: the one module that
reads and writes that table. Workers and beat write through a Session; the cleanup listener
writes on its own LISTEN connection (plain psycopg), so that it beats only while it listens.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

CANARY = "worker-canary"

# one statement, in SQLAlchemy's and in psycopg's placeholders
_UPSERT = (
    "INSERT INTO mediasync_heartbeats (name, last_seen, details)"
    " VALUES ({name}, now(), CAST({details} AS jsonb))"
    " ON CONFLICT (name) DO UPDATE SET last_seen = now(), details = EXCLUDED.details"
)
_UPSERT_SESSION = text(_UPSERT.format(name=":name", details=":details"))
_UPSERT_PSYCOPG = _UPSERT.format(name="%(name)s", details="%(details)s")


def beat(session: Session, name: str, details: dict[str, Any] | None = None) -> None:
    session.execute(_UPSERT_SESSION, {"name": name, "details": _json(details or {})})


def beat_on(conn: psycopg.Connection[Any], name: str, details: dict[str, Any]) -> None:
    """beat() on a plain psycopg connection (autocommit: the listener's)."""
    conn.execute(_UPSERT_PSYCOPG, {"name": name, "details": _json(details)})


def forget_on(conn: psycopg.Connection[Any], name: str) -> None:
    conn.execute("DELETE FROM mediasync_heartbeats WHERE name = %s", (name,))


def listed(
    session: Session, prefix: str
) -> list[tuple[str, dict[str, Any], datetime, float]]:
    """(name, details, last_seen, age in seconds) of every heartbeat named `prefix`…."""
    rows = session.execute(
        text(
            "SELECT name, details, last_seen, extract(epoch FROM now() - last_seen)"
            " FROM mediasync_heartbeats WHERE name LIKE :prefix ORDER BY name"
        ),
        {"prefix": prefix + "%"},
    )
    return [
        (name, details, last_seen, float(age)) for name, details, last_seen, age in rows
    ]


def forget_older(session: Session, prefix: str, older_than_s: float) -> int:
    """Drop the heartbeats named `prefix`… not renewed for `older_than_s`."""
    result = session.execute(
        text(
            "DELETE FROM mediasync_heartbeats WHERE name LIKE :prefix"
            " AND last_seen < now() - make_interval(secs => :age)"
        ),
        {"prefix": prefix + "%", "age": older_than_s},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]  # DML results have rowcount


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
