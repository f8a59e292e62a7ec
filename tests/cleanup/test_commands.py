"""`mediasync cleanup …` and `mediasync listener` as an operator runs them."""

import json
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from bench.cleanup_drain import process_env
from mediasync.cli import main
from tests.cleanup.conftest import queue_statuses
from tests.waiting import wait_until
from workers.cleanup.listener import listener_heartbeats


@pytest.fixture
def env(monkeypatch, settings, cloud):
    for name, value in process_env(settings).items():
        if name in ("DATABASE_URL", "REDIS_URL", "CLOUDINARY_URL"):
            monkeypatch.setenv(name, value)
    return settings


def queue_failed_row(sessions):
    with sessions.begin() as session:
        session.execute(text("INSERT INTO media_assets (public_id) VALUES ('cli/1')"))
        session.execute(text("DELETE FROM media_assets"))
        session.execute(
            text(
                "UPDATE cloudinary_cleanup_queue SET status = 'failed', last_error = 'x'"
            )
        )
        return session.execute(
            text("SELECT id FROM cloudinary_cleanup_queue")
        ).scalar_one()


def test_status_json_reports_queue_pause_listeners_and_budget(
    env, sessions, governor, capsys
):
    queue_failed_row(sessions)
    governor.observe(500, 420, time.time() + 600)

    assert main(["cleanup", "status", "--json"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["failed"] == 1
    assert report["paused"] is False
    assert report["listeners"] == []
    assert report["admin_budget"]["remaining"] == 420


def test_pause_and_resume_switch_the_flag_status_shows(env, capsys):
    assert main(["cleanup", "pause", "--reason", "incident 42"]) == 0
    assert main(["cleanup", "status"]) == 0
    out = capsys.readouterr().out
    assert "cleanup paused" in out
    assert "PAUSED" in out
    assert "incident 42" in out

    assert main(["cleanup", "resume"]) == 0
    assert main(["cleanup", "status"]) == 0
    assert "not paused" in capsys.readouterr().out


def test_retry_failed_by_id_requeues_that_row(env, sessions, capsys):
    queue_id = queue_failed_row(sessions)

    assert main(["cleanup", "retry-failed", "--id", str(queue_id)]) == 0

    assert f"requeued 1 failed rows: [{queue_id}]" in capsys.readouterr().out
    assert queue_statuses(sessions) == {"pending": 1}


def test_sweep_reports_what_it_reclaimed_and_found_due(env, sessions, capsys):
    with sessions.begin() as session:
        session.execute(text("INSERT INTO media_assets (public_id) VALUES ('cli/2')"))
        session.execute(text("DELETE FROM media_assets"))

    assert main(["cleanup", "sweep"]) == 0

    assert "reclaimed 0 leases (0 dead-lettered); 1 rows due" in capsys.readouterr().out


def test_the_listener_command_stops_cleanly_on_sigterm(settings, sessions, tmp_path):
    log = tmp_path / "listener.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "mediasync", "listener", "--name", "cli-test"],
            env={**process_env(settings), "MEDIASYNC_LOG_LEVEL": "INFO"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        def heartbeat():
            with sessions.begin() as session:
                return [b for b in listener_heartbeats(session) if b.name == "cli-test"]

        wait_until(heartbeat, timeout=30, what="the listener's heartbeat")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert heartbeat() == []
    logged = log.read_text()
    assert "listener cli-test: listening" in logged
    assert "listener cli-test: stopped" in logged
