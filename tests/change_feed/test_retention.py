"""The beat's retention of mediasync_changes, and the settings it and the feed read."""

from __future__ import annotations

import pytest

from workers.beat.maintenance import purge_changes
from workers.celery_app import configure
from workers.config import Settings, SettingsError

ENV = {"DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://x:1/0"}


def test_changes_older_than_the_retention_are_purged(db, committed_db):
    db.execute(
        "INSERT INTO media_assets (public_id, asset_id)"
        " SELECT 'r/' || i, 'r' || i FROM generate_series(1, 4) i"
    )
    db.execute(
        "UPDATE mediasync_changes SET at = now() - interval '8 days' WHERE id <= 2"
    )
    configure(
        Settings(
            database_url=committed_db,
            redis_url="redis://127.0.0.1:1/0",
            cloudinary=None,
        )
    )
    assert purge_changes() == 2
    ids = [r[0] for r in db.execute("SELECT id FROM mediasync_changes ORDER BY id")]
    assert ids == [3, 4]


def test_feed_settings_from_the_environment():
    settings = Settings.from_env(
        {**ENV, "MEDIASYNC_FEED_TOKEN": " t0k ", "MEDIASYNC_FEED_RETENTION_DAYS": "3"},
        required=("DATABASE_URL",),
    )
    assert (settings.feed_token, settings.feed_retention_days) == ("t0k", 3)
    assert "t0k" not in repr(settings)
    defaults = Settings.from_env(ENV, required=("DATABASE_URL",))
    assert (defaults.feed_token, defaults.feed_retention_days) == (None, 7)
    with pytest.raises(SettingsError, match="MEDIASYNC_FEED_RETENTION_DAYS"):
        Settings.from_env({**ENV, "MEDIASYNC_FEED_RETENTION_DAYS": "0"}, required=())
