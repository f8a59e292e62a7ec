"""The receiver's one write: a notification into webhook_inbox, in one autocommitted statement.

This is the hot path, so it is raw psycopg and one round trip: no ORM, no transaction
block. Connections are reused from a small LIFO stack, which suits both gunicorn's fixed
threads and servers that start a thread per request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow

from db.urls import libpq_url

Connection = psycopg.Connection[TupleRow]

# The digest is unique: a redelivery inserts nothing and returns no row; only then (rare)
# a second statement reports the stored row, so the caller can re-enqueue it if pending.
_INSERT = """
INSERT INTO webhook_inbox (digest, notification_type, body, signed_at)
VALUES (%(digest)s, %(type)s, %(body)s::jsonb, to_timestamp(%(signed_at)s))
ON CONFLICT (digest) DO NOTHING
RETURNING id, status
"""
_LOOKUP = "SELECT id, status FROM webhook_inbox WHERE digest = %(digest)s"
CONNECT_TIMEOUT_S = 3
MAX_IDLE = 16


class DatabaseUnavailable(Exception):
    """Postgres did not answer or could not take the row; the sender should retry (503)."""


class BodyNotStorable(Exception):
    """Postgres refused the body as jsonb (\\u0000, lone surrogates…); a 400."""


@dataclass(frozen=True)
class Recorded:
    inbox_id: int
    status: str
    new: bool


class InboxWriter:
    def __init__(self, database_url: str) -> None:
        self._conninfo = libpq_url(database_url)
        self._lock = threading.Lock()
        self._idle: list[Connection] = []

    def record(
        self, *, digest: str, notification_type: str, body: str, signed_at: int
    ) -> Recorded:
        params = {
            "digest": digest,
            "type": notification_type,
            "body": body,
            "signed_at": signed_at,
        }
        for attempt in (1, 2):
            try:
                with self._connection() as conn:
                    return _record(conn, params)
            except psycopg.Error as exc:
                # Idle connections may predate a Postgres restart: drop them all and try
                # once more on a fresh one (the statement is idempotent), sparing a 503.
                if attempt == 2 or not _is_disconnect(exc):
                    raise DatabaseUnavailable(type(exc).__name__) from exc
                self.close()
        raise AssertionError("unreachable")

    def ping(self) -> None:
        """Raise DatabaseUnavailable unless Postgres answers a trivial query."""
        try:
            with self._connection() as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            raise DatabaseUnavailable(type(exc).__name__) from exc

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None or conn.closed:
            try:
                conn = psycopg.connect(
                    self._conninfo,
                    autocommit=True,
                    connect_timeout=CONNECT_TIMEOUT_S,
                    application_name="mediasync-receiver",
                )
            except psycopg.OperationalError as exc:
                raise DatabaseUnavailable(type(exc).__name__) from exc
        try:
            yield conn
        finally:
            reusable = (
                not conn.closed
                and conn.info.transaction_status == TransactionStatus.IDLE
            )
            with self._lock:
                kept = reusable and len(self._idle) < MAX_IDLE
                if kept:
                    self._idle.append(conn)
            if not kept:
                conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _record(conn: Connection, params: dict[str, object]) -> Recorded:
    try:
        row = conn.execute(_INSERT, params).fetchone()
    except (psycopg.DataError, psycopg.errors.ProgramLimitExceeded) as exc:
        raise BodyNotStorable(type(exc).__name__) from exc
    if row is not None:
        return Recorded(int(row[0]), str(row[1]), new=True)
    row = conn.execute(_LOOKUP, params).fetchone()
    if row is None:  # the conflicting insert rolled back after all; nothing is stored
        raise DatabaseUnavailable("the row vanished; retry")
    return Recorded(int(row[0]), str(row[1]), new=False)


def _is_disconnect(exc: psycopg.Error) -> bool:
    # A lost connection has no SQLSTATE, or an 08/57P one (connection failure, shutdown).
    if not isinstance(exc, psycopg.OperationalError):
        return False
    return exc.sqlstate is None or exc.sqlstate.startswith(("08", "57P"))
