"""bench/memory.py --quick: the real processes run the workload twice and their peak RSS is
reported (numbers are not judged)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(180)
def test_the_memory_benchmark_reports_each_process_over_two_runs(pg_server_url):
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": pg_server_url}
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory", "--quick", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=170,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["completed"] is True
    assert [run["applied"] and run["drained"] for run in report["runs"]] == [True] * 2
    peaks = report["peak_rss_mib"]
    assert set(peaks) == {"receiver", "worker", "listener", "beat"}
    # gunicorn's master and its workers; Celery's main process and its pool children
    assert peaks["receiver"]["processes"] >= 3
    assert peaks["worker"]["processes"] >= 3
    for name, peak in peaks.items():
        assert peak["run1_peak_mib"] > 0, name
        assert peak["run2_peak_mib"] > 0, name
