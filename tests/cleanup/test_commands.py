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


def test_retry_failed_with_an_unknown_id_names_it_and_exits_1(env, sessions, capsys):
    queue_id = queue_failed_row(sessions)

    assert (
        main(["cleanup", "retry-failed", "--id", str(queue_id), "--id", "99999"]) == 1
    )

    err = capsys.readouterr().err
    assert "no cleanup queue row with id 99999" in err
    assert "nothing was requeued" in err
    assert queue_statuses(sessions) == {"failed": 1}


def test_retry_failed_with_a_row_that_has_not_failed_says_so_and_exits_1(
    env, sessions, capsys
):
    queue_id = queue_failed_row(sessions)
    with sessions.begin() as session:
        session.execute(text("UPDATE cloudinary_cleanup_queue SET status = 'held'"))

    assert main(["cleanup", "retry-failed", "--id", str(queue_id)]) == 1

    assert f"row {queue_id} is held, not failed" in capsys.readouterr().err
    assert queue_statuses(sessions) == {"held": 1}


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


# -- decisions on held deletes: release, restore, adopt ----------------------------------


def queue_held_rows(sessions, public_ids, how="DELETE FROM media_assets"):
    """Mirror rows deleted (by `how`) and their cleanups held; the queue ids."""
    with sessions.begin() as session:
        session.execute(
            text(
                "INSERT INTO media_assets (public_id) SELECT unnest(CAST(:p AS text[]))"
            ),
            {"p": public_ids},
        )
        session.execute(text(how))
        session.execute(
            text(
                "UPDATE cloudinary_cleanup_queue SET status = 'held',"
                " held_reason = 'breaker: test'"
            )
        )
        return (
            session.execute(text("SELECT id FROM cloudinary_cleanup_queue ORDER BY id"))
            .scalars()
            .all()
        )


def cleanup_rows(sessions):
    with sessions.begin() as session:
        rows = session.execute(
            text(
                "SELECT id, status, released_by, held_reason"
                " FROM cloudinary_cleanup_queue ORDER BY id"
            )
        )
        return {r[0]: tuple(r[1:]) for r in rows}


def test_release_by_id_sends_that_row_and_records_who(env, sessions, capsys):
    ids = queue_held_rows(sessions, ["rel/1", "rel/2"])

    assert main(["cleanup", "release", "--id", str(ids[0])]) == 0

    assert f"released 1 held deletes: [{ids[0]}]" in capsys.readouterr().out
    rows = cleanup_rows(sessions)
    assert rows[ids[0]][0] == "pending"
    assert rows[ids[0]][1].startswith("cli:")
    assert rows[ids[1]][0] == "held"


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--all", "--id", "1"],
        ["--id", "1", "--prefix", "a/"],
        ["--before", "yesterday"],
        ["--prefix", ""],
    ],
)
def test_release_without_a_clear_selection_is_a_usage_error(
    env, sessions, capsys, args
):
    ids = queue_held_rows(sessions, ["use/1"])

    assert main(["cleanup", "release", *args]) == 2

    err = capsys.readouterr().err
    assert err.startswith("mediasync cleanup release: ")
    assert len(err.strip().splitlines()) == 1
    assert cleanup_rows(sessions)[ids[0]][0] == "held"


def test_unknown_ids_and_rows_not_held_fail_naming_them(env, sessions, capsys):
    ids = queue_held_rows(sessions, ["bad/1", "bad/2"])
    with sessions.begin() as session:
        session.execute(
            text("UPDATE cloudinary_cleanup_queue SET status = 'failed' WHERE id = :i"),
            {"i": ids[1]},
        )

    assert main(["cleanup", "release", "--id", str(ids[0]), "--id", "424242"]) == 1
    assert "424242" in capsys.readouterr().err
    assert main(["cleanup", "restore", "--id", str(ids[0]), "--id", str(ids[1])]) == 1
    err = capsys.readouterr().err
    assert f"{ids[1]} is failed" in err
    assert "nothing changed" in err
    assert cleanup_rows(sessions)[ids[0]][0] == "held"


def test_restore_by_prefix_undeletes_the_rows_and_cancels_the_deletes(
    env, sessions, capsys
):
    ids = queue_held_rows(
        sessions,
        ["keep/1", "keep/2", "other/1"],
        "UPDATE media_assets SET deleted_at = now()",
    )

    assert main(["cleanup", "restore", "--prefix", "keep/"]) == 0

    out = capsys.readouterr().out
    assert "restored 2 rows: 2 undeleted, 0 re-created from Cloudinary" in out
    rows = cleanup_rows(sessions)
    assert [rows[i][0] for i in ids] == ["cancelled", "cancelled", "held"]
    with sessions.begin() as session:
        live = session.execute(
            text("SELECT public_id FROM media_assets WHERE deleted_at IS NULL")
        ).scalars()
        assert sorted(live) == ["keep/1", "keep/2"]


def test_adopt_records_this_database_and_status_shows_the_guardrails(
    env, sessions, capsys
):
    ids = queue_held_rows(sessions, ["copy/1"])
    with sessions.begin() as session:
        session.execute(
            text(
                "UPDATE cloudinary_cleanup_queue SET held_reason = 'database: a copy';"
                " UPDATE mediasync_database_identity SET database_oid = 1;"
                " UPDATE mediasync_delete_breaker SET tripped_at = now(),"
                ' details = \'{"queued": 700, "limit": 100}\''
            )
        )
    assert main(["cleanup", "status"]) == 0
    out = capsys.readouterr().out
    assert "breaker: TRIPPED since" in out
    assert "(700 queued > limit 100)" in out
    assert "held: 1" in out
    assert "scope: every asset; delay: 0 s" in out
    assert "database: NOT the recorded one" in out

    assert main(["cleanup", "adopt"]) == 0

    out = capsys.readouterr().out
    assert "adopted database mediasync_t_" in out
    assert "1 held deletes requeued" in out
    assert cleanup_rows(sessions)[ids[0]][0] == "pending"
    assert main(["cleanup", "status"]) == 0
    assert "is the recorded one, adopted by cli:" in capsys.readouterr().out
