import json
import logging
import os
import subprocess
import sys
import time

from workers.logs import JsonFormatter


def test_json_lines_carry_ids_and_never_the_raw_record_noise():
    record = logging.LogRecord(
        "mediasync.x", logging.INFO, "f.py", 1, "applied %s", ("a",), None
    )
    record.inbox_id = 42
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "applied a"
    assert entry["inbox_id"] == 42
    assert entry["level"] == "INFO"
    assert "args" not in entry


def test_a_worker_logs_one_json_object_per_line(committed_db, redis_url):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": committed_db,
        "REDIS_URL": redis_url,
        "CLOUDINARY_URL": "cloudinary://k:s@demo",
        "MEDIASYNC_LOG_FORMAT": "json",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "mediasync", "worker", "--pool", "solo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    entries = []
    try:
        assert worker.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = worker.stderr.readline()
            if not line:
                break
            if line.startswith("{"):
                entries.append(json.loads(line))
                if "ready" in entries[-1]["message"]:
                    break
    finally:
        worker.terminate()
        worker.communicate(timeout=30)
    assert any("ready" in e["message"] for e in entries), entries
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
