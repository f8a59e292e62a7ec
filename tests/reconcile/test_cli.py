"""`mediasync reconcile` as an operator runs it: a real process, real env, the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

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
