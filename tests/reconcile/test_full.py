"""A full run repairs every kind of drift in one pass, inside a predictable number of calls."""

from __future__ import annotations

import math

from tests.reconcile.conftest import make_drift, mirror_differences, scalar
from workers.cleanup import drain as cleanup


def test_one_full_run_converges_every_kind_of_drift_within_the_list_call_floor(
    cloud, sessions, reconciler, cloudinary, governor
):
    drift = make_drift(
        cloud, sessions, total=5000, stale=100, missing=180, tombstoned=20, gone=50
    )
    cloud.client.reset_counters()

    report = reconciler.run("full")

    assert report.status == "finished", report
    assert report.counts | {"seen": 0} == {
        "pauses": 0,
        "inserted": 180,
        "updated": 100,
        "requeued_cleanup": 20,
        "marked_deleted": 50,
        "unchanged": 4700,
        "errors": 0,
        "pages": 12,
        "api_calls": 12,
        "seen": 0,
    }
    # image/upload: 5000 / 500 pages; video/upload and raw/upload: one empty page each
    list_calls = cloud.client.counters()["list_resources"]
    assert list_calls == math.ceil(5000 / 500) + 2
    # the mirror is Cloudinary, except the 20 the host app deleted: those stay deleted...
    assert mirror_differences(cloud, sessions, except_ids=set(drift.tombstoned)) == []
    assert (
        scalar(
            sessions,
            "SELECT count(*) FROM media_assets WHERE deleted_at IS NULL"
            " AND public_id = ANY(:ids)",
            ids=drift.tombstoned,
        )
        == 0
    )
    # ...and are queued for deletion from Cloudinary, with the listener woken
    assert scalar(
        sessions,
        "SELECT array_agg(public_id ORDER BY public_id) FROM cloudinary_cleanup_queue"
        " WHERE reason = 'reconcile' AND status = 'pending'",
    ) == sorted(drift.tombstoned)
    # rows of vanished assets were marked deleted without queueing a cleanup (echo)
    assert (
        scalar(
            sessions,
            "SELECT count(*) FROM media_assets WHERE deleted_at IS NOT NULL"
            " AND public_id LIKE 'gone/%'",
        )
        == 50
    )
    assert scalar(sessions, "SELECT count(*) FROM cloudinary_cleanup_queue") == 20

    # the cleanup worker finishes the job: Cloudinary now matches the mirror exactly
    cleanup.drain(sessions, cloudinary, governor, holder="test")
    assert {a["public_id"] for a in cloud.client.assets()}.isdisjoint(drift.tombstoned)
    assert mirror_differences(cloud, sessions) == []


def test_a_full_run_logs_one_row_per_repair_and_one_summary(
    cloud, sessions, reconciler
):
    make_drift(cloud, sessions, total=60, stale=3, missing=4, tombstoned=2, gone=1)

    report = reconciler.run("full")

    with sessions.begin() as session:
        from sqlalchemy import text

        rows = session.execute(
            text(
                "SELECT operation, count(*) FROM media_sync_log"
                " WHERE source = 'reconcile' GROUP BY operation"
            )
        ).all()
    assert dict(rows) == {
        "reconcile.insert": 4,
        "reconcile.update": 3,
        "reconcile.requeue_cleanup": 2,
        "reconcile.mark_deleted": 1,
        "reconcile.full": 1,
    }
    summary = scalar(
        sessions,
        "SELECT details FROM media_sync_log WHERE operation = 'reconcile.full'",
    )
    assert summary["run_id"] == report.run_id
    assert summary["counts"]["inserted"] == 4


def test_a_second_full_run_finds_nothing_to_repair(cloud, sessions, reconciler):
    make_drift(cloud, sessions, total=300, stale=10, missing=10, tombstoned=5, gone=5)
    reconciler.run("full")

    again = reconciler.run("full")

    assert again.status == "finished"
    assert again.counts["unchanged"] == 300  # the 5 tombstoned: cleanup pending
    for name in ("inserted", "updated", "requeued_cleanup", "marked_deleted"):
        assert again.counts[name] == 0, name
