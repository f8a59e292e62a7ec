"""`mediasync reconcile` as an operator runs it: a real process, real env, the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from tests.reconcile.conftest import make_drift, scalar


@pytest.fixture
def mediasync(cloud, committed_db, redis_url):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": committed_db,
        "REDIS_URL": redis_url,
        "CLOUDINARY_URL": cloud.cloudinary_url,
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mediasync", "reconcile", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def test_reconcile_full_wait_prints_the_report_and_exits_0(cloud, sessions, mediasync):
    make_drift(cloud, sessions, total=30, stale=2, missing=3, tombstoned=1, gone=1)

    result = mediasync("--full", "--wait", "--json")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "finished"
    assert report["counts"]["inserted"] == 3
    assert report["counts"]["updated"] == 2
    assert report["counts"]["marked_deleted"] == 1


def test_an_aborted_run_exits_1_and_says_why(cloud, sessions, mediasync):
    make_drift(cloud, sessions, total=4, stale=0, missing=0, tombstoned=0, gone=6)

    result = mediasync("--full", "--wait", "--dry-run")

    assert result.returncode == 1
    assert "aborted" in result.stdout
    assert "blast radius" in result.stdout
    assert "dry run" in result.stdout


def test_without_wait_the_run_is_queued_and_its_id_printed(cloud, sessions, mediasync):
    result = mediasync("--public-id", "a/b", "--type", "private", "--json")

    assert result.returncode == 0, result.stderr
    queued = json.loads(result.stdout)
    assert queued["status"] == "queued"
    assert scalar(
        sessions,
        "SELECT params FROM reconcile_runs WHERE id = :id",
        id=queued["run_id"],
    ) == {"public_id": "a/b", "resource_type": "image", "delivery_type": "private"}


def test_full_and_public_id_together_are_a_usage_error(mediasync):
    result = mediasync("--full", "--public-id", "x")

    assert result.returncode == 2


def test_a_queued_run_says_how_to_follow_it_and_show_prints_its_report(
    cloud, sessions, mediasync
):
    queued = mediasync("--dry-run")

    assert queued.returncode == 0, queued.stderr
    run_id = scalar(sessions, "SELECT max(id) FROM reconcile_runs")
    assert f"follow it with `mediasync reconcile show {run_id}`" in queued.stdout

    shown = mediasync("show", str(run_id))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"reconcile incremental run {run_id}: ")
    assert "dry run" in shown.stdout

    as_json = json.loads(mediasync("show", str(run_id), "--json").stdout)
    assert as_json["run_id"] == run_id
    assert as_json["kind"] == "incremental"


def test_show_of_an_unknown_run_names_it_and_exits_1(mediasync):
    result = mediasync("show", "99999")

    assert result.returncode == 1
    assert "no reconcile run 99999" in result.stderr
    assert result.stdout == ""


def test_list_shows_recent_runs_newest_first(cloud, sessions, mediasync):
    make_drift(cloud, sessions, total=3, stale=1, missing=0, tombstoned=0, gone=0)
    assert mediasync("--full", "--wait").returncode == 0
    assert mediasync("--public-id", "drift/000002", "--wait").returncode == 0

    listed = mediasync("list")

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 2
    assert "single" in lines[0]
    assert "unchanged 1" in lines[0]
    assert "full" in lines[1]
    assert "listed 3, updated 1, unchanged 2" in lines[1]
    as_json = json.loads(mediasync("list", "--json", "--limit", "1").stdout)
    assert [run["kind"] for run in as_json] == ["single"]


def test_an_incremental_run_counts_what_it_listed_not_an_empty_seen_set(
    cloud, sessions, mediasync
):
    make_drift(cloud, sessions, total=5, stale=2, missing=1, tombstoned=0, gone=0)

    report = json.loads(mediasync("--wait", "--json").stdout)

    assert report["kind"] == "incremental"
    assert "seen" not in report["counts"]
    assert report["listed"] == 5
    assert report["counts"]["updated"] == 2
    assert report["counts"]["inserted"] == 1
    text = mediasync("show", str(report["run_id"])).stdout
    assert "seen" not in text
    assert "assets listed 5" in text


def test_a_single_run_kept_by_the_grace_period_says_so(cloud, sessions, mediasync):
    with sessions.begin() as session:
        session.execute(
            text("INSERT INTO media_assets (public_id, version) VALUES ('fresh', 1)")
        )

    result = mediasync("--public-id", "fresh", "--wait")

    assert result.returncode == 0, result.stderr
    assert "not found in Cloudinary" in result.stdout
    assert "grace period (MEDIASYNC_RECONCILE_GRACE=300 s): kept" in result.stdout
    assert "unchanged" not in result.stdout
    run_id = scalar(sessions, "SELECT max(id) FROM reconcile_runs")
    report = json.loads(mediasync("show", str(run_id), "--json").stdout)
    assert report["details"]["found_in_cloudinary"] is False
    assert report["details"]["verdict"] == "kept_in_grace_period"


def test_a_single_run_for_an_asset_nobody_has_says_there_was_nothing_to_do(
    cloud, mediasync
):
    result = mediasync("--public-id", "nowhere", "--wait")

    assert result.returncode == 0, result.stderr
    assert "the mirror has no live row for it: nothing to do" in result.stdout


def test_a_pause_after_a_502_gives_its_real_reason_not_rate_limit(cloud, mediasync):
    cloud.client.seed(count=1, prefix="s/")
    cloud.client.fault("get_resource", status=502)

    result = mediasync("--public-id", "s/000000", "--wait")

    assert result.returncode == 0, result.stderr
    assert "paused for 5 s: Cloudinary unavailable" in result.stderr
    assert "rate limit" not in result.stderr
    assert "its row was inserted" in result.stdout


def test_show_takes_json_before_or_after_it_and_refuses_the_flags_of_a_new_run(
    cloud, sessions, mediasync
):
    run_id = json.loads(mediasync("--dry-run", "--json").stdout)["run_id"]

    before = mediasync("--json", "show", str(run_id))
    assert json.loads(before.stdout)["run_id"] == run_id

    mixed = mediasync("--full", "show", str(run_id))
    assert mixed.returncode == 2
    assert "--full starts a run" in mixed.stderr
