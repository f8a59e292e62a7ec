"""Tasks that keep the system itself healthy."""

from __future__ import annotations

from sqlalchemy import text

from workers import heartbeats
from workers.celery_app import app, get_settings, session_scope, worker_name


@app.task(name="mediasync.maintenance.ping")
def ping() -> str:
    """A no-op round trip through the broker and a worker (health checks)."""
    return "pong"


@app.task(name="mediasync.maintenance.canary")
def canary() -> None:
    """Sent by beat every minute; its completion time shows workers are consuming.

    Workers can be alive yet not consuming (a known Celery failure after a Redis reconnect):
    the age of this mark is the gauge that catches it.
    """
    with session_scope() as session:
        heartbeats.beat(session, heartbeats.CANARY, {"worker": worker_name()})


@app.task(name="mediasync.maintenance.purge_sync_log")
def purge_sync_log() -> int:
    """Delete audit rows older than the retention (MEDIASYNC_LOG_RETENTION_DAYS)."""
    days = get_settings().log_retention_days
    with session_scope() as session:
        result = session.execute(
            text(
                "DELETE FROM media_sync_log"
                " WHERE created_at < now() - make_interval(days => :days)"
            ),
            {"days": days},
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


@app.task(name="mediasync.maintenance.purge_changes")
def purge_changes() -> int:
    """Delete change-feed rows older than MEDIASYNC_FEED_RETENTION_DAYS: a feed client
    gone longer than that resumes with an `expired` event and re-reads its state."""
    days = get_settings().feed_retention_days
    with session_scope() as session:
        result = session.execute(
            text(
                "DELETE FROM mediasync_changes"
                " WHERE at < now() - make_interval(days => :days)"
            ),
            {"days": days},
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
