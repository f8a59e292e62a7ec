"""The checks of our own side: database, schema, broker, workers, listener, beat, clock.

Each takes what it needs and returns a Result; none raises for a failure it can name.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import psycopg
import redis
from celery import Celery
from psycopg import sql

from db.migrate import VERSION_TABLE, discover
from db.urls import libpq_url
from mediasync.doctor.result import Result, failed, passed
from workers.beat.leader import LEADER_LOCK_KEY
from workers.celery_app import ALL_QUEUES
from workers.cleanup.listener import (
    HEARTBEAT_PREFIX,
    HEARTBEAT_S,
    MAX_BURST_S,
    POLL_S,
    stale_after_s,
)
from workers.heartbeats import CANARY

# the triggers behind the delete flow (db/migrations 0002 and 0009)
DELETE_TRIGGERS = (
    "media_assets_after_delete_queue_cleanup",
    "media_assets_after_soft_delete_queue_cleanup",
    "media_assets_after_restore_cancel_cleanup",
    "media_assets_before_truncate_refuse",
)
CLOCK_SKEW_LIMIT_S = 5.0
# a canary may wait this long in a busy queue beyond its three intervals
CANARY_SLACK_S = 30


def where(url: str) -> str:
    """host:port of a URL, never its password."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.hostname or 'localhost'}:{port or '(default port)'}"


def connect(database_url: str, timeout_s: float) -> psycopg.Connection[Any]:
    return psycopg.connect(
        libpq_url(database_url), connect_timeout=max(1, int(timeout_s)), autocommit=True
    )


def database(database_url: str, timeout_s: float) -> Result:
    try:
        with connect(database_url, timeout_s) as conn:
            version = conn.execute("SHOW server_version").fetchone()
    except (psycopg.Error, OSError) as exc:
        reason = (
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        return failed(
            "database",
            f"cannot connect to {where(database_url)}: {reason}",
            "start PostgreSQL or correct DATABASE_URL",
            "DATABASE_URL",
        )
    return passed(
        "database",
        f"{where(database_url)} answers (PostgreSQL {version and version[0]})",
    )


def migrations(conn: psycopg.Connection[Any]) -> Result:
    wanted = {m.version: m.name for m in discover()}
    present = conn.execute("SELECT to_regclass(%s)", (VERSION_TABLE,)).fetchone()
    applied: set[int] = set()
    if present and present[0]:
        applied = {
            row[0]
            for row in conn.execute(
                sql.SQL("SELECT version FROM {}").format(sql.Identifier(VERSION_TABLE))
            )
        }
    missing = [wanted[v] for v in sorted(wanted) if v not in applied]
    if missing:
        return failed(
            "migrations",
            f"{len(missing)} of {len(wanted)} not applied: {', '.join(missing)}",
            "run `mediasync migrate`",
        )
    return passed("migrations", f"at the latest version ({max(wanted)})")


def delete_triggers(conn: psycopg.Connection[Any]) -> Result:
    rows = conn.execute(
        "SELECT tgname, tgenabled FROM pg_trigger"
        " WHERE tgrelid = to_regclass('media_assets') AND NOT tgisinternal"
    ).fetchall()
    enabled = {name for name, state in rows if state != "D"}
    missing = [name for name in DELETE_TRIGGERS if name not in enabled]
    if missing:
        return failed(
            "delete triggers",
            f"missing or disabled on media_assets: {', '.join(missing)}",
            "run `mediasync migrate` (or ENABLE TRIGGER the disabled ones)",
        )
    return passed("delete triggers", f"{len(DELETE_TRIGGERS)} in place on media_assets")


def clock_skew(conn: psycopg.Connection[Any]) -> Result:
    before = time.time()
    row = conn.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
    after = time.time()
    skew = float(row[0]) - (before + after) / 2 if row else 0.0
    detail = f"{skew:+.2f} s against the database"
    if abs(skew) > CLOCK_SKEW_LIMIT_S:
        return failed(
            "clock skew",
            detail,
            "synchronise this host's clock (NTP) with the database's",
        )
    return passed("clock skew", detail)


def broker(broker_url: str, timeout_s: float, variable: str = "REDIS_URL") -> Result:
    client = redis.Redis.from_url(
        broker_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
    )
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        return failed(
            "broker",
            f"Redis at {where(broker_url)} does not answer: {exc}",
            f"start Redis or correct {variable}",
            variable,
        )
    finally:
        client.close()
    return passed("broker", f"Redis at {where(broker_url)} answers")


def workers(broker_url: str, timeout_s: float, canary: Result | None = None) -> Result:
    """Ask the running workers which queues they consume (Celery's `inspect`); `canary`
    (canary_overdue's verdict) catches workers that answer but no longer consume."""
    app = Celery("mediasync-doctor", broker=broker_url)
    try:
        answers = app.control.inspect(timeout=timeout_s).active_queues() or {}
        error = ""
    # kombu and redis raise their own errors; the broker check has named the cause
    except Exception as exc:
        answers, error = {}, f" ({exc})"
    finally:
        app.close()
    consumed = {
        str(queue.get("name")) for queues in answers.values() for queue in queues or ()
    }
    missing = [queue for queue in ALL_QUEUES if queue not in consumed]
    if missing:
        return failed(
            "workers",
            f"{len(answers)} worker(s) answered; nobody consumes "
            f"{', '.join(missing)}{error}",
            "start `mediasync worker` (it consumes every mediasync queue)",
        )
    if canary is not None and not canary.passed:
        return canary
    return passed(
        "workers", f"{len(answers)} worker(s) consume {', '.join(ALL_QUEUES)}"
    )


def canary_overdue(conn: psycopg.Connection[Any], interval_s: int) -> Result | None:
    """A failed Result when beat's canary task (every `interval_s`) has not completed for
    three intervals: workers that answer `inspect` but no longer take tasks (a known Celery
    failure after a Redis reconnect). None while no canary has ever run."""
    row = conn.execute(
        "SELECT extract(epoch FROM now() - last_seen) FROM mediasync_heartbeats"
        " WHERE name = %s",
        (CANARY,),
    ).fetchone()
    if row is None or row[0] is None:
        return None
    age = float(row[0])
    if age <= 3 * interval_s + CANARY_SLACK_S:
        return passed("workers", f"canary completed {age:.0f} s ago")
    return failed(
        "workers",
        f"workers answer, but the canary task last completed {age:.0f} s ago "
        f"(sent every {interval_s} s)",
        "restart the workers (and check that `mediasync beat` runs)",
    )


def listener(conn: psycopg.Connection[Any]) -> Result:
    rows = conn.execute(
        "SELECT name, details, extract(epoch FROM now() - last_seen)"
        " FROM mediasync_heartbeats WHERE name LIKE %s",
        (HEARTBEAT_PREFIX + "%",),
    ).fetchall()
    default_limit = stale_after_s(HEARTBEAT_S, POLL_S, MAX_BURST_S)
    alive = [
        name.removeprefix(HEARTBEAT_PREFIX)
        for name, details, age in rows
        if float(age) <= float((details or {}).get("stale_after_s") or default_limit)
    ]
    if not alive:
        stale = f" ({len(rows)} stale heartbeat(s))" if rows else ""
        return failed(
            "listener",
            f"no cleanup listener is alive{stale}",
            "start `mediasync listener` (deletes wait for the sweep without it)",
        )
    return passed("listener", f"alive: {', '.join(sorted(alive))}")


def beat(conn: psycopg.Connection[Any]) -> Result:
    """A leading beat holds its advisory lock for as long as it fires the schedule."""
    leading = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND classid = 0 AND objid = %s AND objsubid = 1",
        (LEADER_LOCK_KEY,),
    ).fetchone()
    last = conn.execute(
        "SELECT extract(epoch FROM now() - max(last_run_at)) FROM mediasync_beat_state"
    ).fetchone()
    fired = (
        f"last fired {float(last[0]):.0f} s ago"
        if last and last[0] is not None
        else "never fired"
    )
    if not leading or not leading[0]:
        return failed(
            "beat",
            f"no beat leads ({fired})",
            "start `mediasync beat` (one or more replicas)",
        )
    return passed("beat", f"a leader holds the lock; {fired}")
