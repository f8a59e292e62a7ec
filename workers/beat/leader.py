"""Celery beat with a Postgres leader lock: any number of replicas, exactly one fires.

Each `mediasync beat` process waits for a session-level advisory lock on a dedicated
connection; the holder runs the scheduler, the others stand by and retry every second. If the
leader dies (even by SIGKILL) PostgreSQL drops its connection and the lock with it, so a standby
takes over within seconds. Before every send the leader records the firing on the lock
connection itself: a leader that lost its connection cannot fire, and a new leader continues
from the recorded times instead of starting the intervals over.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg
from celery import Celery
from celery.beat import ScheduleEntry, Scheduler, Service

from db.urls import libpq_url

logger = logging.getLogger(__name__)

LEADER_LOCK_KEY = 0x62656174  # "beat"
STANDBY_POLL_S = 1.0
# Keepalives make a silently dead network path show up as an error within ~15 s.
_KEEPALIVE: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "connect_timeout": 5,
}


class LostLeadership(Exception):
    """The leader's lock connection failed; it must stop firing at once."""


class PostgresStateScheduler(Scheduler):  # type: ignore[misc]  # celery is untyped
    """Celery's in-memory scheduler, with last-run times shared through Postgres."""

    lock_connection: psycopg.Connection[Any] | None = None
    identity = ""

    def setup_schedule(self) -> None:
        super().setup_schedule()
        if self.lock_connection is None:
            return
        rows = self.lock_connection.execute(
            "SELECT name, last_run_at, run_count FROM mediasync_beat_state"
        ).fetchall()
        for name, last_run_at, run_count in rows:
            entry = self.schedule.get(name)
            if entry is not None:
                entry.last_run_at = last_run_at
                entry.total_run_count = run_count

    def reserve(self, entry: ScheduleEntry) -> ScheduleEntry:
        new_entry = super().reserve(entry)
        if self.lock_connection is not None:
            try:
                self.lock_connection.execute(
                    "INSERT INTO mediasync_beat_state (name, last_run_at, run_count, fired_by)"
                    " VALUES (%s, %s, 1, %s) ON CONFLICT (name) DO UPDATE"
                    " SET last_run_at = EXCLUDED.last_run_at,"
                    "     run_count = mediasync_beat_state.run_count + 1,"
                    "     fired_by = EXCLUDED.fired_by",
                    (entry.name, new_entry.last_run_at, self.identity),
                )
            except psycopg.Error as exc:
                raise LostLeadership(str(exc)) from exc
        return new_entry


def run_beat(
    app: Celery,
    database_url: str,
    identity: str,
    stop: threading.Event,
    *,
    max_interval: float = 1.0,
) -> None:
    """Stand by until leader, fire while leader; return when `stop` is set."""
    while not stop.is_set():
        try:
            with psycopg.connect(
                libpq_url(database_url), autocommit=True, **_KEEPALIVE
            ) as conn:
                if not _wait_for_lock(conn, stop):
                    return
                logger.info("beat %s: leader; firing the schedule", identity)
                _lead(app, conn, identity, stop, max_interval)
        except (psycopg.Error, LostLeadership) as exc:
            logger.warning(
                "beat %s: lost the database (%s); standing by", identity, exc
            )
            stop.wait(STANDBY_POLL_S)
    logger.info("beat %s: stopped", identity)


def _wait_for_lock(conn: psycopg.Connection[Any], stop: threading.Event) -> bool:
    announced = False
    while not stop.is_set():
        row = conn.execute(
            "SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)
        ).fetchone()
        if row and row[0]:
            return True
        if not announced:
            logger.info("beat: another beat leads; standing by")
            announced = True
        stop.wait(STANDBY_POLL_S)
    return False


def _lead(
    app: Celery,
    conn: psycopg.Connection[Any],
    identity: str,
    stop: threading.Event,
    max_interval: float,
) -> None:
    scheduler_cls = type(
        "BoundPostgresStateScheduler",
        (PostgresStateScheduler,),
        {"lock_connection": conn, "identity": identity},
    )
    service = Service(app, max_interval=max_interval, scheduler_cls=scheduler_cls)
    watchdog = threading.Thread(
        target=_watch, args=(conn, service, stop), name="beat-watchdog", daemon=True
    )
    watchdog.start()
    try:
        service.start()
    finally:
        service.stop()
        watchdog.join(timeout=5)


def _watch(
    conn: psycopg.Connection[Any], service: Service, stop: threading.Event
) -> None:
    # The scheduler thread only touches the connection when it fires; between firings this
    # notices a dead connection (and the lost lock) and stops the scheduler.
    while not stop.wait(STANDBY_POLL_S):
        if service._is_shutdown.is_set():
            return
        try:
            conn.execute("SELECT 1")
        except psycopg.Error:
            break
    service.stop()
