"""Single-asset runs: one Admin `resource` call, then an upsert or, on 404, a delete mark."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert

from db.models import MediaAsset
from tests.reconcile.conftest import AN_HOUR_AGO, make_drift, mirror_differences, scalar


def test_a_single_run_repairs_one_stale_row_with_one_call(cloud, sessions, reconciler):
    make_drift(cloud, sessions, total=3, stale=3, missing=0, tombstoned=0, gone=0)
    cloud.client.reset_counters()

    report = reconciler.run("single", public_id="drift/000001")

    assert report.status == "finished"
    assert report.counts["updated"] == 1
    assert report.counts["api_calls"] == 1
    counters = cloud.client.counters()
    assert counters["get_resource"] == 1
    assert counters["list_resources"] == counters["search"] == 0
    assert (
        scalar(
            sessions, "SELECT tags FROM media_assets WHERE public_id = 'drift/000001'"
        )
        == []
    )
    # the other two stay stale: a single run touches only its asset
    assert len(mirror_differences(cloud, sessions)) == 2 * 2  # version and tags each


def test_a_single_run_inserts_a_missed_upload(cloud, sessions, reconciler):
    cloud.client.seed(count=1, prefix="s/")

    report = reconciler.run("single", public_id="s/000000")

    assert report.counts["inserted"] == 1
    assert mirror_differences(cloud, sessions) == []


def test_an_asset_gone_from_cloudinary_marks_its_old_row_deleted_without_a_cleanup(
    cloud, sessions, reconciler
):
    with sessions.begin() as session:
        then = datetime.now(UTC) - AN_HOUR_AGO
        session.execute(
            insert(MediaAsset),
            [
                {
                    "public_id": "lost",
                    "version": 1,
                    "created_at": then,
                    "updated_at": then,
                }
            ],
        )

    report = reconciler.run("single", public_id="lost")

    assert report.counts["marked_deleted"] == 1
    assert report.details == {"found_in_cloudinary": False}
    assert (
        scalar(sessions, "SELECT deleted_at FROM media_assets WHERE public_id = 'lost'")
        is not None
    )
    assert scalar(sessions, "SELECT count(*) FROM cloudinary_cleanup_queue") == 0


def test_a_404_for_a_row_inside_the_grace_window_leaves_it_alone(
    cloud, sessions, reconciler
):
    with sessions.begin() as session:
        session.execute(insert(MediaAsset), [{"public_id": "fresh", "version": 1}])

    report = reconciler.run("single", public_id="fresh")

    assert report.counts["marked_deleted"] == 0
    assert report.counts["unchanged"] == 1
    assert scalar(sessions, "SELECT deleted_at FROM media_assets") is None


def test_a_dry_single_run_reports_the_delete_without_making_it(
    cloud, sessions, reconciler
):
    with sessions.begin() as session:
        then = datetime.now(UTC) - AN_HOUR_AGO
        session.execute(
            insert(MediaAsset),
            [
                {
                    "public_id": "lost",
                    "version": 1,
                    "created_at": then,
                    "updated_at": then,
                }
            ],
        )

    report = reconciler.run("single", public_id="lost", dry_run=True)

    assert report.counts["marked_deleted"] == 1
    assert scalar(sessions, "SELECT deleted_at FROM media_assets") is None
    assert scalar(sessions, "SELECT count(*) FROM media_sync_log") == 0


def test_a_single_run_for_another_resource_and_delivery_type(
    cloud, sessions, reconciler
):
    cloud.client.seed(count=1, prefix="v/", resource_type="video", type="private")

    report = reconciler.run(
        "single", public_id="v/000000", resource_type="video", delivery_type="private"
    )

    assert report.counts["inserted"] == 1
    assert mirror_differences(cloud, sessions) == []
