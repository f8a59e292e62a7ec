"""Runs stop with their cursor saved (rate limit, budget share, outage, operator) and
continue from the next page: every page is fetched once, every repair made once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from tests.reconcile.conftest import make_drift, mirror_differences, scalar
from tests.waiting import wait_until
from workers.reconcile import runs as reconcile_runs
from workers.reconcile import tasks


def run_row(sessions, run_id: int) -> dict:
    with sessions.begin() as session:
        return reconcile_runs.run_status(session, run_id)


def test_a_420_mid_run_pauses_and_the_task_resumes_from_the_cursor_without_duplicate_work(
    cloud, sessions, celery_worker
):
    cloud.client.seed(count=2500, prefix="p/")  # 5 pages, plus one per empty scope
    cloud.client.set_rate_limit(500, reset_in=3)
    cloud.client.fault("list_resources", count=3, latency_ms=1)  # three pass...
    cloud.client.fault("list_resources", status=420)  # ...the fourth is rate limited

    tasks.full.delay()

    def finished() -> dict | None:
        run_id = scalar(sessions, "SELECT max(id) FROM reconcile_runs")
        row = run_row(sessions, run_id) if run_id else None
        return row if row and row["status"] == "finished" else None

    report = wait_until(finished, timeout=30, what="the paused run to finish")
    assert report["counts"]["pauses"] == 1
    assert report["counts"]["pages"] == 7
    assert report["counts"]["inserted"] == 2500
    # every page once, plus the one call that was refused
    assert cloud.client.counters()["list_resources"] == 7 + 1
    assert report["counts"]["api_calls"] == 8
    assert (
        scalar(
            sessions,
            "SELECT count(*) FROM media_sync_log WHERE operation = 'reconcile.insert'",
        )
        == 2500
    )
    assert mirror_differences(cloud, sessions) == []


def test_a_run_pauses_before_spending_more_than_its_budget_share(
    cloud, sessions, reconciler
):
    cloud.client.seed(count=3000, prefix="b/")  # 6 pages + 2 empty scopes
    # 10 calls left in a 4-second window: a half share is 5, the run needs 8
    cloud.client.set_rate_limit(40, remaining=10, reset_in=4)
    slept: list[float] = []

    report = reconciler.run_waiting("full", sleep=slept.append)

    assert report.status == "finished", report
    assert report.counts["pauses"] == len(slept) >= 1
    assert all(0 < s <= 6 for s in slept), slept
    # paused before Cloudinary had to refuse anything: no call was wasted
    assert cloud.client.counters()["list_resources"] == 8
    assert report.counts["inserted"] == 3000


def test_a_paused_run_is_not_resumed_before_its_reset(cloud, sessions, reconciler):
    cloud.client.seed(count=1200, prefix="r/")
    cloud.client.fault("list_resources", count=1, latency_ms=1)
    cloud.client.fault("list_resources", status=503)  # no Retry-After: the SDK gives up
    run_id = reconciler.start("full")

    first = reconciler.execute(run_id)
    early = reconciler.execute(run_id)  # a duplicate resume message, arriving too soon

    assert first.status == "paused"
    assert "unavailable" in first.reason
    assert first.resume_at > datetime.now(UTC)
    assert early.status == "paused"
    assert cloud.client.counters()["list_resources"] == 2
    with sessions.begin() as session:  # the backoff has passed
        session.execute(
            text("UPDATE reconcile_runs SET resume_at = now() WHERE id = :id"),
            {"id": run_id},
        )
    done = reconciler.execute(run_id)
    assert done.status == "finished"
    assert done.counts["inserted"] == 1200
    assert cloud.client.counters()["list_resources"] == 5 + 1


def test_an_operator_pause_stops_runs_before_any_call_until_it_is_lifted(
    cloud, sessions, reconciler
):
    cloud.client.seed(count=10, prefix="o/")
    with sessions.begin() as session:
        session.execute(
            text(
                "INSERT INTO mediasync_pauses (flow, reason) VALUES ('reconcile', 'audit')"
            )
        )
    run_id = reconciler.start("full")

    paused = reconciler.execute(run_id)

    assert paused.status == "paused"
    assert paused.resume_at is None
    assert "audit" in paused.reason
    assert cloud.client.counters()["list_resources"] == 0
    with sessions.begin() as session:
        assert reconcile_runs.due_runs(session) == []
        session.execute(text("DELETE FROM mediasync_pauses"))
    with sessions.begin() as session:
        assert reconcile_runs.due_runs(session) == [run_id]
    assert reconciler.execute(run_id).counts["inserted"] == 10


def test_a_seen_set_lost_in_a_crash_is_listed_again_instead_of_deleting_rows(
    cloud, sessions, reconciler, governor
):
    make_drift(cloud, sessions, total=1500, stale=0, missing=0, tombstoned=0, gone=5)
    cloud.client.fault("list_resources", count=2, latency_ms=1)
    cloud.client.fault("list_resources", status=420)
    run_id = reconciler.start("full")
    assert reconciler.execute(run_id).status == "paused"
    with sessions.begin() as session:  # what an unlogged table looks like after a crash
        session.execute(text("DELETE FROM reconcile_seen"))
        session.execute(
            text("UPDATE reconcile_runs SET resume_at = now() WHERE id = :id"),
            {"id": run_id},
        )
    governor.forget()  # and the rate-limit window has passed

    report = reconciler.execute(run_id)

    assert report.status == "finished", report
    assert report.counts["marked_deleted"] == 5
    assert mirror_differences(cloud, sessions) == []
