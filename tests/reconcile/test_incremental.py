"""Incremental runs search what changed since the watermark instead of listing everything."""

from __future__ import annotations

import struct
import time
from dataclasses import replace

import cloudinary.api
import cloudinary.uploader

from tests.reconcile.conftest import mirror_differences, scalar

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + struct.pack(">II", 4, 3)


def upload(account, public_id: str, **options) -> dict:
    return cloudinary.uploader.upload(
        PNG, public_id=public_id, **options, **account.sdk_config()
    )


def test_an_incremental_run_picks_up_exactly_the_new_uploads_with_search_alone(
    cloud, account, sessions, reconciler
):
    cloud.client.seed(count=600, prefix="old/")
    # the search window starts after the seeded assets' upload second
    time.sleep(2.1)
    assert reconciler.run("full").status == "finished"
    new_ids = [f"new/{n:02d}" for n in range(30)]
    for public_id in new_ids:  # notifications are off: the webhooks never come
        upload(account, public_id, tags=["fresh"])
    cloud.client.reset_counters()
    reconciler.limits = replace(reconciler.limits, overlap_s=1)

    report = reconciler.run("incremental")

    assert report.status == "finished", report
    assert report.counts["inserted"] == 30
    assert report.counts["unchanged"] == 0
    assert report.counts["updated"] == 0
    counters = cloud.client.counters()
    assert counters["search"] > 0
    assert counters["list_resources"] == 0
    assert mirror_differences(cloud, sessions) == []
    assert (
        scalar(
            sessions,
            "SELECT count(*) FROM media_assets WHERE public_id LIKE 'new/%'"
            " AND tags = '{fresh}'",
        )
        == 30
    )


def test_an_incremental_run_repairs_tags_changed_in_the_console(
    cloud, account, sessions, reconciler
):
    cloud.client.seed(count=20, prefix="t/")
    assert reconciler.run("full").counts["inserted"] == 20
    cloudinary.api.update("t/000003", tags=["edited"], **account.sdk_config())

    report = reconciler.run("incremental")

    assert report.counts["updated"] == 1
    assert mirror_differences(cloud, sessions) == []


def test_the_watermark_moves_to_the_start_of_each_finished_run(
    cloud, sessions, reconciler
):
    first = reconciler.run("incremental")
    second_id = reconciler.start("incremental")

    mark = scalar(sessions, "SELECT watermark FROM reconcile_watermarks")
    params = scalar(
        sessions, "SELECT params FROM reconcile_runs WHERE id = :id", id=second_id
    )
    assert mark == first.started_at
    assert params["since"] < mark.isoformat()  # watermark minus the overlap
    assert "uploaded_at>=" in params["expression"]


def test_a_dry_incremental_run_leaves_the_watermark_alone(cloud, sessions, reconciler):
    reconciler.run("incremental", dry_run=True)

    assert scalar(sessions, "SELECT count(*) FROM reconcile_watermarks") == 0
