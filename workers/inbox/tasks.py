"""Inbox tasks: drain the webhook inbox, sweep for lost wake-ups, purge old rows.

Beat (workers/beat/schedule.py) runs `mediasync.inbox.sweep` every
MEDIASYNC_INBOX_SWEEP_INTERVAL (5 s) and `mediasync.inbox.purge` daily;
`mediasync.inbox.apply` is woken by the receiver.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

import redis
from kombu.exceptions import KombuError
from sqlalchemy.exc import OperationalError

from workers.celery_app import (
    INBOX_QUEUE,
    app,
    cloudinary,
    get_settings,
    redis_client,
    session_scope,
)
from workers.config import Settings
from workers.inbox import batch as inbox
from workers.inbox import queue as inbox_queue
from workers.inbox import wakeup
from workers.inbox.refetch import BudgetedFetcher

logger = logging.getLogger(__name__)

# A row pending this long had its wake-up lost (a live drain claims within milliseconds).
# With the 5 s sweep a lost wake-up is made up for within about 10 s; the check is an
# index probe, and a wake-up too many only starts a drain that finds little to do.
SWEEP_OVERDUE_S = 5.0
ADMIN_API_TIMEOUT_S = 15.0
# the queue wake-ups go to (the receiver publishes there too)
APPLY_QUEUE = INBOX_QUEUE


@app.task(
    name="mediasync.inbox.apply",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=8,
)
def apply_inbox(inbox_id: int | None = None) -> int:
    """Apply whatever is due; `inbox_id` only says which row caused the wake-up."""
    settings = get_settings()
    _release_wakeup(settings.broker_url)
    result = inbox.drain(
        session_scope,
        fetcher=_fetcher(settings),
        row_delay_s=settings.apply_row_delay_ms / 1000,
        on_backlog=lambda: _wake_another(settings.broker_url),
    )
    if result.more:
        wake()  # keep each task short; the next one continues
    elif result.retry_in is not None:
        wake(countdown=result.retry_in)
    return result.claimed


@app.task(name="mediasync.inbox.sweep")
def sweep_inbox(overdue_s: float = SWEEP_OVERDUE_S) -> bool:
    """Wake one drain if rows have been due for longer than `overdue_s` (lost wake-ups)."""
    with session_scope() as session:
        overdue = inbox_queue.has_overdue(session, timedelta(seconds=overdue_s))
    if overdue:
        wake()
    return overdue


@app.task(name="mediasync.inbox.purge")
def purge_inbox() -> int:
    """Delete applied/ignored rows older than the retention, in bounded transactions."""
    days, total, limit = get_settings().log_retention_days, 0, 10_000
    while True:
        with session_scope() as session:
            deleted = inbox_queue.purge_processed(session, days, limit=limit)
        total += deleted
        if deleted < limit:
            return total


def wake(countdown: float | None = None) -> None:
    """Queue a drain now (after a commit: e.g. once retry_failed's transaction ends)."""
    apply_inbox.apply_async(queue=APPLY_QUEUE, countdown=countdown)


def _fetcher(settings: Settings) -> BudgetedFetcher | None:
    """The Admin API client re-fetches go through (None without an account: rows are then
    marked for reconciliation instead)."""
    if settings.cloudinary is None:
        return None
    return BudgetedFetcher(*cloudinary(ADMIN_API_TIMEOUT_S))


def _wake_another(broker_url: str) -> None:
    """A backlog: queue one more drain, so that every worker process can take a share.

    Each drain asks for at most one more, and none while one is queued and not started
    (the receiver's key), so a backlog fans out to the free workers and no further.
    """
    if wakeup.has_slot(broker_url):
        try:
            queued = not wakeup.take_slot(redis_client(broker_url), "backlog")
        except redis.RedisError:
            return  # the drain in progress goes on; the sweep covers the rest
        if queued:
            return
    try:
        wake()
    except (KombuError, OSError) as exc:
        # the drain in progress goes on alone; the sweep wakes whatever it leaves
        logger.warning("could not queue another drain: %s", type(exc).__name__)


def _release_wakeup(broker_url: str) -> None:
    if not wakeup.has_slot(broker_url):
        return
    # Failing to delete only costs coalescing (the key expires); the drain goes on.
    with contextlib.suppress(redis.RedisError):
        wakeup.release_slot(redis_client(broker_url))
