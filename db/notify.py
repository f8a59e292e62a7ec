"""NOTIFY channel names shared by the SQL triggers and the listener."""

from __future__ import annotations

# Appears as the same literal in db/migrations/0002_create_delete_triggers.sql (a test checks).
CLEANUP_CHANNEL = "mediasync_cleanup"
# Appears as the same literal in db/migrations/0011_change_feed.sql (a test checks); the
# change feed (webhook_receiver/change_feed/) LISTENs on it.
CHANGES_CHANNEL = "mediasync_changes"
