"""bench/receiver.py --quick runs all three servers end to end (numbers are not judged)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_receiver_benchmark_runs_in_quick_mode(pg_server_url):
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": pg_server_url}
    result = subprocess.run(
        [sys.executable, "-m", "bench.receiver", "--quick", "--seconds", "1", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert set(report["results"]) == {"bare", "ideal", "mediasync"}
    for kind, numbers in report["results"].items():
        assert numbers["errors"] == 0, kind
        assert numbers["requests_per_s"] > 0, kind
