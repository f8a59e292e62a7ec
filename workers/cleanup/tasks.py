"""Cleanup tasks: drain the queue, sweep for missed work, reclaim leases, purge old rows."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from workers import pauses
from workers.celery_app import (
    CLEANUP_QUEUE,
    app,
    cloudinary,
    get_sessionmaker,
    get_settings,
    session_scope,
    worker_name,
)
from workers.cleanup import drain as cleanup
from workers.cleanup import guard, listener
from workers.cleanup import queue as cleanup_queue
from workers.cleanup.calls import RetryPolicy
from workers.cloudinary_client import CloudinaryClient
from workers.rate_governor import RateGovernor

# urllib3 retries a timed-out DELETE three more times on its own; the drain renews its
# lease meanwhile, so only Cloudinary's patience bounds this, not the lease.
CALL_TIMEOUT_S = 10.0
# Retries further out than this are left to the sweep instead of an ETA message held by a
# worker (Redis redelivers unacked messages after the visibility timeout).
MAX_WAKE_AHEAD_S = 900.0


def _cloudinary() -> tuple[CloudinaryClient, RateGovernor, cleanup.CleanupPolicy]:
    settings = get_settings()
    client, governor = cloudinary(CALL_TIMEOUT_S)
    retry = RetryPolicy(max_rate_limit_wait_s=settings.cleanup_max_reset_wait_s)
    policy = cleanup.CleanupPolicy(
        retry=retry,
        guardrails=guard.Guardrails.from_settings(settings),
        invalidate=settings.delete_invalidate,
    )
    return client, governor, policy


def enqueue_drains(count: int, countdown: float | None = None) -> None:
    """Send `count` drain tasks now (no transaction to wait for: rows are committed)."""
    for _ in range(count):
        drain.apply_async(queue=CLEANUP_QUEUE, countdown=countdown)


@app.task(name="mediasync.cleanup.drain")
def drain() -> dict[str, Any]:
    """Delete due queue rows from Cloudinary until none is left."""
    client, governor, policy = _cloudinary()
    report = cleanup.drain(
        get_sessionmaker(), client, governor, holder=worker_name(), policy=policy
    )
    if report.more:
        enqueue_drains(1)
    elif report.retry_at is not None:
        wait = max(0.0, report.retry_at - time.time())
        if wait <= MAX_WAKE_AHEAD_S:
            enqueue_drains(1, countdown=wait)
    return asdict(report)


@app.task(name="mediasync.cleanup.sweep")
def sweep() -> dict[str, Any]:
    """Beat, every MEDIASYNC_SWEEP_INTERVAL: reclaim dead workers' leases, drain
    whatever NOTIFY missed."""
    with session_scope() as session:
        result = cleanup_queue.sweep(session)
    if not result.paused:
        enqueue_drains(cleanup_queue.drains_for(result.due))
    return asdict(result)


@app.task(name="mediasync.cleanup.reclaim")
def reclaim() -> dict[str, int]:
    """Beat, every few seconds: hand the rows of drains whose worker died (their lease was
    not renewed for LEASE_S) to a new drain. An index probe when nothing is stale."""
    with session_scope() as session:
        counts = cleanup_queue.reclaim_stale(session)
        paused = pauses.is_paused(session)
    if counts["pending"] and not paused:
        enqueue_drains(cleanup_queue.drains_for(counts["pending"]))
    return counts


@app.task(name="mediasync.cleanup.purge")
def purge() -> int:
    """Daily: delete finished queue rows older than MEDIASYNC_LOG_RETENTION_DAYS."""
    with session_scope() as session:
        removed = cleanup_queue.purge(session, get_settings().log_retention_days)
        listener.forget_stale_listeners(session)
    return removed
