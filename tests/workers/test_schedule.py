from datetime import timedelta

import workers.tasks  # noqa: F401 -- registers every task
from workers.celery_app import app
from workers.config import Settings
from workers.schedule import beat_schedule

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
        {**ENV, "MEDIASYNC_SWEEP_INTERVAL": "7", "MEDIASYNC_RECONCILE_INTERVAL": "99",
         "MEDIASYNC_FULL_RECONCILE_INTERVAL": "3600", "MEDIASYNC_RETENTION_INTERVAL": "600",
         "MEDIASYNC_CANARY_INTERVAL": "11"}
    )  # fmt: skip
    schedule = beat_schedule(settings)
    assert schedule["inbox-sweep"]["schedule"] == timedelta(seconds=7)
    assert schedule["cleanup-sweep"]["schedule"] == timedelta(seconds=7)
    assert schedule["reconcile-incremental"]["schedule"] == timedelta(seconds=99)
    assert schedule["reconcile-full"]["schedule"] == timedelta(seconds=3600)
    assert schedule["worker-canary"]["schedule"] == timedelta(seconds=11)
    assert schedule["cleanup-purge"]["schedule"] == timedelta(seconds=600)


def test_defaults_follow_the_design():
    schedule = beat_schedule(Settings.from_env(ENV))
    assert schedule["inbox-sweep"]["schedule"] == timedelta(seconds=30)
    assert schedule["cleanup-sweep"]["schedule"] == timedelta(seconds=30)
    assert schedule["reconcile-incremental"]["schedule"] == timedelta(minutes=5)
    assert schedule["reconcile-full"]["schedule"] == timedelta(days=1)
    assert schedule["inbox-purge"]["schedule"] == timedelta(days=1)
