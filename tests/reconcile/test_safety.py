"""What reconciliation must never do: write during a dry run, delete in bulk on a short
listing, resurrect what the host app deleted, or overwrite newer state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import cloudinary.uploader
from sqlalchemy import insert, text

from db.models import MediaAsset
from tests.reconcile.conftest import (
    AN_HOUR_AGO,
    expected_row,
    make_drift,
    mirror_differences,
    scalar,
)
from tests.reconcile.test_incremental import PNG


def table_dump(sessions) -> dict[str, list]:
    with sessions.begin() as session:
        return {
            table: [
                tuple(row)
                for row in session.execute(text(f"SELECT * FROM {table} ORDER BY id"))
            ]
            for table in ("media_assets", "cloudinary_cleanup_queue", "media_sync_log")
        }


def test_a_dry_run_reports_every_repair_and_changes_nothing(
    cloud, sessions, reconciler
):
    make_drift(cloud, sessions, total=700, stale=7, missing=6, tombstoned=5, gone=4)
    before = table_dump(sessions)
    cloud_before = cloud.client.assets()

    dry = reconciler.run("full", dry_run=True)

    assert dry.status == "finished"
    assert dry.dry_run
    assert table_dump(sessions) == before
    assert cloud.client.assets() == cloud_before
    assert scalar(sessions, "SELECT count(*) FROM reconcile_seen") == 0
    assert scalar(sessions, "SELECT count(*) FROM reconcile_watermarks") == 0
    # and it predicted exactly what the real run then does
    real = reconciler.run("full")
    classes = ("inserted", "updated", "requeued_cleanup", "marked_deleted", "unchanged")
    assert {k: dry.counts[k] for k in classes} == {k: real.counts[k] for k in classes}
    assert real.counts["marked_deleted"] == 4


def test_a_run_that_would_delete_60_percent_of_live_rows_is_aborted_before_deleting(
    cloud, sessions, reconciler
):
    make_drift(cloud, sessions, total=40, stale=0, missing=0, tombstoned=0, gone=60)

    report = reconciler.run("full")

    assert report.status == "aborted"
    assert not report.ok
    assert "60 of 100 live rows (60%)" in report.reason
    assert (
        scalar(sessions, "SELECT count(*) FROM media_assets WHERE deleted_at IS NULL")
        == 100
    )
    assert (
        scalar(
            sessions,
            "SELECT status FROM media_sync_log WHERE operation = 'reconcile.full'",
        )
        == "aborted"
    )


def test_a_run_over_the_delete_count_limit_is_aborted_too(cloud, sessions, reconciler):
    make_drift(cloud, sessions, total=200, stale=0, missing=0, tombstoned=0, gone=12)
    reconciler.limits = replace(reconciler.limits, max_deletes=10)

    report = reconciler.run("full")

    assert report.status == "aborted"
    assert "more than the limit of 10" in report.reason
    assert (
        scalar(
            sessions, "SELECT count(*) FROM media_assets WHERE deleted_at IS NOT NULL"
        )
        == 0
    )


def test_a_row_newer_than_the_grace_window_is_not_marked_deleted(
    cloud, sessions, reconciler
):
    make_drift(cloud, sessions, total=20, stale=0, missing=0, tombstoned=0, gone=0)
    with sessions.begin() as session:  # an upload the listing cannot show yet
        session.execute(insert(MediaAsset), [{"public_id": "just/now", "version": 1}])

    report = reconciler.run("full")

    assert report.counts["marked_deleted"] == 0
    assert (
        scalar(
            sessions, "SELECT deleted_at FROM media_assets WHERE public_id = 'just/now'"
        )
        is None
    )


def test_a_deleted_row_is_never_resurrected_and_its_cleanup_is_queued_once(
    cloud, sessions, reconciler
):
    drift = make_drift(
        cloud, sessions, total=10, stale=0, missing=0, tombstoned=3, gone=0
    )

    first = reconciler.run("full")
    second = reconciler.run("full")

    assert first.counts["requeued_cleanup"] == 3
    assert second.counts["requeued_cleanup"] == 0  # one is already pending
    assert scalar(sessions, "SELECT count(*) FROM cloudinary_cleanup_queue") == 3
    assert (
        scalar(
            sessions,
            "SELECT count(*) FROM media_assets WHERE deleted_at IS NULL"
            " AND public_id = ANY(:ids)",
            ids=drift.tombstoned,
        )
        == 0
    )


def test_a_failed_cleanup_is_queued_again(cloud, sessions, reconciler):
    make_drift(cloud, sessions, total=5, stale=0, missing=0, tombstoned=1, gone=0)
    reconciler.run("full")
    with sessions.begin() as session:
        session.execute(text("UPDATE cloudinary_cleanup_queue SET status = 'failed'"))

    assert reconciler.run("full").counts["requeued_cleanup"] == 1


def test_a_row_deleted_by_the_host_app_gets_its_cleanup_even_if_cloudinary_renamed_it(
    cloud, account, sessions, reconciler
):
    make_drift(cloud, sessions, total=3, stale=0, missing=0, tombstoned=0, gone=0)
    # the host app deletes; the trigger queues a cleanup, which reports success...
    with sessions.begin() as session:
        session.execute(
            text(
                "UPDATE media_assets SET deleted_at = now() WHERE public_id = 'drift/000001'"
            )
        )
        session.execute(
            text("UPDATE cloudinary_cleanup_queue SET status = 'completed'")
        )
    # ...but someone renamed the asset in the console first: it survived under a new name
    cloudinary.uploader.rename("drift/000001", "moved/one", **account.sdk_config())

    report = reconciler.run("full")

    assert report.counts["inserted"] == 0
    assert report.counts["requeued_cleanup"] == 1
    assert (
        scalar(
            sessions,
            "SELECT public_id FROM cloudinary_cleanup_queue WHERE reason = 'reconcile'",
        )
        == "moved/one"
    )


def test_a_new_upload_after_a_delete_brings_the_row_back_and_cancels_its_cleanup(
    cloud, account, sessions, reconciler
):
    then = datetime.now(UTC) - AN_HOUR_AGO
    with sessions.begin() as session:
        session.execute(
            insert(MediaAsset),
            [{"public_id": "again", "version": 1, "created_at": then}],
        )
    with sessions.begin() as session:  # the host app deletes: a cleanup is queued
        session.execute(text("UPDATE media_assets SET deleted_at = now()"))
    # before the cleanup runs, someone uploads a new version under the same name
    cloudinary.uploader.upload(PNG, public_id="again", **account.sdk_config())

    report = reconciler.run("full")

    assert report.counts["inserted"] == 1
    assert report.counts["requeued_cleanup"] == 0
    assert mirror_differences(cloud, sessions) == []
    # as the webhook apply does, the row comes back rather than a second one...
    assert scalar(sessions, "SELECT count(*) FROM media_assets") == 1
    # ...and the cleanup that would delete the new upload is called off
    assert scalar(sessions, "SELECT status FROM cloudinary_cleanup_queue") == "skipped"
    assert (
        scalar(
            sessions,
            "SELECT operation FROM media_sync_log WHERE source = 'reconcile'"
            " AND public_id = 'again'",
        )
        == "reconcile.revive"
    )


def test_a_renamed_asset_keeps_its_row(cloud, account, sessions, reconciler):
    make_drift(cloud, sessions, total=3, stale=0, missing=0, tombstoned=0, gone=0)
    row_id = scalar(
        sessions, "SELECT id FROM media_assets WHERE public_id = 'drift/000002'"
    )
    cloudinary.uploader.rename("drift/000002", "renamed/two", **account.sdk_config())

    report = reconciler.run("full")

    assert report.counts["updated"] == 1
    assert report.counts["inserted"] == report.counts["marked_deleted"] == 0
    assert (
        scalar(sessions, "SELECT public_id FROM media_assets WHERE id = :id", id=row_id)
        == "renamed/two"
    )
    assert mirror_differences(cloud, sessions) == []


def test_state_a_webhook_applied_after_the_page_was_fetched_is_not_overwritten(
    cloud, sessions, reconciler
):
    cloud.client.seed(count=1, prefix="w/")
    asset = cloud.client.assets()[0]
    later = datetime.now(UTC) + timedelta(minutes=10)
    with sessions.begin() as session:
        session.execute(
            insert(MediaAsset),
            [
                {
                    **{k: v for k, v in expected_row(asset).items() if k != "metadata"},
                    "tags": ["from-a-newer-webhook"],
                    "last_event_at": later,
                }
            ],
        )

    report = reconciler.run("full")

    assert report.counts["updated"] == 0
    assert scalar(sessions, "SELECT tags FROM media_assets") == ["from-a-newer-webhook"]


def test_only_one_full_run_at_a_time(cloud, sessions, reconciler):
    first = reconciler.start("full")
    with sessions.begin() as session:
        from workers.reconcile import driver as reconcile

        again, created = reconcile.start(session, "full", reconciler.limits)
        dry, dry_created = reconcile.start(
            session, "full", reconciler.limits, dry_run=True
        )
    assert (again, created) == (first, False)
    # a dry run writes nothing: it may overlap
    assert dry_created
    assert dry != first


def test_a_run_held_by_another_process_answers_already_running(
    cloud, sessions, reconciler, committed_db
):
    import psycopg

    from db.urls import libpq_url
    from workers.reconcile.runs import _LOCK_CLASS

    run_id = reconciler.start("full")
    with psycopg.connect(libpq_url(committed_db), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", (_LOCK_CLASS, run_id))
        report = reconciler.execute(run_id)
    assert report.already_running
    assert report.status == "running"
    assert cloud.client.counters()["list_resources"] == 0
