"""bench/apply_throughput.py and bench/ingest_latency.py --quick (what CI smoke-runs): each
drives the real worker and receiver processes and reports its figure (numbers not judged)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_quick(module: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", module, "--quick", "--json"],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=170,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.timeout(180)
def test_the_apply_benchmark_drains_every_event_beside_its_floor():
    report = run_quick("bench.apply_throughput")
    assert report["completed"] is True
    assert report["noop_completed"] is True
    assert report["counts"] == {
        "pending": 0,
        "applied": report["events"],
        "ignored": 0,
        "failed": 0,
    }
    mix = report["mix"]
    # every upload made a row; the deleted ones are tombstones, the rest live
    assert report["live_assets"] == mix["upload"] - mix["delete"]
    assert report["deleted_assets"] == mix["delete"]
    assert report["events_per_s"] > 0
    assert report["noop_tasks_per_s"] > 0


@pytest.mark.timeout(180)
def test_the_ingest_benchmark_sees_every_webhook_arrive():
    report = run_quick("bench.ingest_latency")
    assert report["errors"] == 0
    assert report["visible"] == report["accepted"] == report["sent"] > 0
    assert 0 < report["p50_ms"] <= report["p99_ms"] <= report["max_ms"]
    assert 0 < report["machine_busy_share"] <= 1
