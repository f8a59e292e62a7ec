"""`python -m bench --quick` (what CI smoke-runs): every scenario measures and reports."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(300)
def test_the_bench_runner_measures_each_scenario_against_its_floor(tmp_path):
    # the receiver scenario has its own smoke test (tests/webhook_receiver/test_bench_smoke.py)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "cleanup_drain",
         "--only", "reconcile", "--output", str(tmp_path)],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads((tmp_path / "results" / "latest-quick.json").read_text())
    cleanup, reconcile = (
        document["results"][k] for k in ("cleanup_drain", "reconcile")
    )
    assert cleanup["completed"] is True
    assert cleanup["admin_calls"] >= cleanup["floor"] == 10
    assert reconcile["converged"] is True
    assert reconcile["list_calls"] >= reconcile["floor"] == 12
    assert "| cleanup drain" in done.stdout
    assert not (
        tmp_path / "RESULTS.md"
    ).exists()  # quick runs never overwrite the results
