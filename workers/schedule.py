"""The beat schedule: every periodic task and its interval, in one place.

Intervals come from Settings (MEDIASYNC_*_INTERVAL). Each entry expires after one interval:
if workers are down, stale sweeps are dropped instead of piling up behind the next ones.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from workers.celery_app import MAINTENANCE_QUEUE
from workers.config import Settings


def _every(task: str, seconds: int, queue: str = MAINTENANCE_QUEUE) -> dict[str, Any]:
    return {
        "task": task,
        "schedule": timedelta(seconds=seconds),
        "options": {"queue": queue, "expires": seconds},
    }


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "worker-canary": _every(
            "mediasync.maintenance.canary", settings.canary_interval_s
        ),
        "purge-sync-log": _every(
            "mediasync.maintenance.purge_sync_log", settings.retention_interval_s
        ),
    }
