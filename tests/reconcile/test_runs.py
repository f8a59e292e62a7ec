"""Runs as operators and beat see them: status, history, the resume sweep, the tasks."""

from __future__ import annotations

import json

from sqlalchemy import text

from tests.reconcile.conftest import make_drift, scalar
from tests.waiting import wait_until
from workers.celery_app import configure
from workers.reconcile import driver as reconcile
from workers.reconcile import runs as reconcile_runs
from workers.reconcile import tasks
from workers.reconcile.rows import mirror_rows


def test_run_status_and_recent_runs_are_json_ready_and_newest_first(
    cloud, sessions, reconciler
):
    first = reconciler.run("incremental", dry_run=True)
    second = reconciler.run("full")

    with sessions.begin() as session:
        status = reconcile.run_status(session, second.run_id)
        recent = reconcile.recent_runs(session, limit=5)
        missing = reconcile.run_status(session, 999_999)
    assert json.loads(json.dumps(status)) == status
    assert status["status"] == "finished"
    assert status["kind"] == "full"
    assert set(reconcile_runs.CLASSES) <= set(status["counts"])
    assert [r["run_id"] for r in recent] == [second.run_id, first.run_id]
    assert missing is None


def test_the_resume_sweep_takes_over_a_run_whose_worker_died(
    cloud, sessions, settings, reconciler
):
    make_drift(cloud, sessions, total=800, stale=0, missing=800, tombstoned=0, gone=0)
    cloud.client.fault("list_resources", count=1, latency_ms=1)
    cloud.client.fault("list_resources", status=500)
    run_id = reconciler.start("full")
    reconciler.execute(run_id)
    # the worker died mid-run: the row says "running" but nobody holds its lock
    with sessions.begin() as session:
        session.execute(
            text("UPDATE reconcile_runs SET status = 'running', resume_at = NULL")
        )
    configure(settings)

    results = tasks.resume()

    assert [r["run_id"] for r in results] == [run_id]
    assert results[0]["status"] == "finished"
    assert results[0]["counts"]["inserted"] == 800
    assert cloud.client.counters()["list_resources"] == 4 + 1


def test_start_run_queues_the_run_for_a_worker(cloud, sessions, celery_worker):
    cloud.client.seed(count=2, prefix="q/")

    run_id = tasks.start_run("single", public_id="q/000001")

    def done() -> bool:
        return (
            scalar(
                sessions, "SELECT status FROM reconcile_runs WHERE id = :id", id=run_id
            )
            == "finished"
        )

    wait_until(done, timeout=20, what="the queued run to finish")
    assert scalar(sessions, "SELECT count(*) FROM media_assets") == 1


def test_the_full_task_reports_already_running_instead_of_starting_a_second_run(
    cloud, sessions, settings, reconciler, committed_db
):
    import psycopg

    from db.urls import libpq_url
    from workers.reconcile.runs import _LOCK_CLASS

    run_id = reconciler.start("full")
    configure(settings)
    with psycopg.connect(libpq_url(committed_db), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", (_LOCK_CLASS, run_id))
        report = tasks.full()
    assert report["run_id"] == run_id
    assert report["already_running"] is True
    assert scalar(sessions, "SELECT count(*) FROM reconcile_runs") == 1


def test_an_unreadable_resource_is_counted_as_an_error_and_the_rest_still_read():
    rows, errors = mirror_rows(
        [
            {
                "public_id": "ok",
                "resource_type": "image",
                "type": "upload",
                "version": 3,
            },
            {"public_id": "broken", "resource_type": "image", "type": "upload"},
            {
                "public_id": "bad",
                "resource_type": "image",
                "type": "upload",
                "version": "x",
            },
        ]
    )
    assert [r["public_id"] for r in rows] == ["ok"]
    assert len(errors) == 2
    assert errors[0].startswith("broken:")


def test_context_is_mirrored_as_its_key_value_pairs():
    rows, _ = mirror_rows(
        [
            {
                "public_id": "c",
                "resource_type": "image",
                "type": "upload",
                "version": 1,
                "context": {"custom": {"alt": "a cat"}},
                "asset_folder": "pets",
            }
        ]
    )
    assert rows[0]["context"] == {"alt": "a cat"}
    assert rows[0]["folder"] == "pets"
    assert rows[0]["tags"] == []
    assert rows[0]["metadata"] == {}
