from datetime import timedelta

from workers.beat.schedule import beat_schedule
from workers.celery_app import app
from workers.config import Settings

app.loader.import_default_modules()  # registers every flow's tasks

ENV = {
    "DATABASE_URL": "postgresql://x/y",
    "REDIS_URL": "redis://x:1/0",
    "CLOUDINARY_URL": "cloudinary://k:s@c",
}


def test_every_scheduled_task_exists():
    schedule = beat_schedule(Settings.from_env(ENV))
    missing = [e["task"] for e in schedule.values() if e["task"] not in app.tasks]
    assert missing == []


def test_intervals_come_from_the_environment():
    settings = Settings.from_env(
        {**ENV, "MEDIASYNC_SWEEP_INTERVAL": "7", "MEDIASYNC_INBOX_SWEEP_INTERVAL": "2",
         "MEDIASYNC_RECONCILE_INTERVAL": "99",
         "MEDIASYNC_FULL_RECONCILE_INTERVAL": "3600", "MEDIASYNC_RETENTION_INTERVAL": "600",
         "MEDIASYNC_CANARY_INTERVAL": "11"}
    )  # fmt: skip
    schedule = beat_schedule(settings)
    assert schedule["inbox-sweep"]["schedule"] == timedelta(seconds=2)
    assert schedule["cleanup-sweep"]["schedule"] == timedelta(seconds=7)
    assert schedule["reconcile-incremental"]["schedule"] == timedelta(seconds=99)
    assert schedule["reconcile-full"]["schedule"] == timedelta(seconds=3600)
    assert schedule["worker-canary"]["schedule"] == timedelta(seconds=11)
    assert schedule["cleanup-purge"]["schedule"] == timedelta(seconds=600)


def test_defaults_follow_the_design():
    schedule = beat_schedule(Settings.from_env(ENV))
    assert schedule["inbox-sweep"]["schedule"] == timedelta(seconds=5)
    assert schedule["cleanup-sweep"]["schedule"] == timedelta(seconds=30)
    assert schedule["cleanup-reclaim"]["schedule"] == timedelta(seconds=5)
    assert schedule["reconcile-incremental"]["schedule"] == timedelta(minutes=5)
    assert schedule["reconcile-full"]["schedule"] == timedelta(days=1)
    assert schedule["inbox-purge"]["schedule"] == timedelta(days=1)


def test_a_lost_inbox_wake_up_and_a_dead_drain_are_made_up_for_within_15_s():
    """Overdue threshold plus sweep interval bounds a lost inbox wake-up; the lease plus
    the reclaim interval bounds a dead cleanup drain (both well inside 15 s)."""
    from workers.beat.schedule import CLEANUP_RECLAIM_INTERVAL_S
    from workers.cleanup import queue as cleanup_queue
    from workers.inbox.tasks import SWEEP_OVERDUE_S

    schedule = beat_schedule(Settings.from_env(ENV))
    inbox_every = schedule["inbox-sweep"]["schedule"].total_seconds()
    assert SWEEP_OVERDUE_S + inbox_every <= 12
    assert cleanup_queue.LEASE_S + CLEANUP_RECLAIM_INTERVAL_S <= 15
    assert cleanup_queue.RENEW_S * 3 <= cleanup_queue.LEASE_S
