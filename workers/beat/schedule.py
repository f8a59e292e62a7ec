"""The beat schedule: every periodic task and its interval, in one place.

Intervals come from Settings (MEDIASYNC_*_INTERVAL). Each entry expires after one interval:
if workers are down, stale sweeps are dropped instead of piling up behind the next ones.
Every task here is idempotent, so an extra run (say, at a beat failover) changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from workers.celery_app import CLEANUP_QUEUE, INBOX_QUEUE, MAINTENANCE_QUEUE
from workers.config import Settings

# Paused reconcile runs resume by themselves; this catches the ones whose wake-up was lost.
RECONCILE_RESUME_INTERVAL_S = 60
# A dead drain's lease lapses after cleanup_queue.LEASE_S (10 s); looking this often hands
# its rows on within 15 s of the death. An index probe on a partial index of a few rows.
CLEANUP_RECLAIM_INTERVAL_S = 5


def _every(task: str, seconds: int, queue: str = MAINTENANCE_QUEUE) -> dict[str, Any]:
    return {
        "task": task,
        "schedule": timedelta(seconds=seconds),
        "options": {"queue": queue, "expires": seconds},
    }


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    sweep, retention = settings.sweep_interval_s, settings.retention_interval_s
    return {
        # lost wake-ups: inbox rows and cleanup rows still pending, stale leases. The
        # inbox's is an index probe, run often so a lost wake-up costs seconds.
        "inbox-sweep": _every(
            "mediasync.inbox.sweep", settings.inbox_sweep_interval_s, INBOX_QUEUE
        ),
        "cleanup-sweep": _every("mediasync.cleanup.sweep", sweep, CLEANUP_QUEUE),
        "cleanup-reclaim": _every(
            "mediasync.cleanup.reclaim", CLEANUP_RECLAIM_INTERVAL_S, CLEANUP_QUEUE
        ),
        # drift: cheap search often, full listing rarely, stalled runs picked up
        "reconcile-incremental": _every(
            "mediasync.reconcile.incremental", settings.reconcile_interval_s
        ),
        "reconcile-full": _every(
            "mediasync.reconcile.full", settings.full_reconcile_interval_s
        ),
        "reconcile-resume": _every(
            "mediasync.reconcile.resume", RECONCILE_RESUME_INTERVAL_S
        ),
        # workers alive and consuming
        "worker-canary": _every(
            "mediasync.maintenance.canary", settings.canary_interval_s
        ),
        # retention
        "inbox-purge": _every("mediasync.inbox.purge", retention, INBOX_QUEUE),
        "cleanup-purge": _every("mediasync.cleanup.purge", retention, CLEANUP_QUEUE),
        "sync-log-purge": _every("mediasync.maintenance.purge_sync_log", retention),
        "changes-purge": _every("mediasync.maintenance.purge_changes", retention),
    }
