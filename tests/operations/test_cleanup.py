"""workers/operations/cleanup.py, the operator's cleanup actions: status, retry-failed,
pause/resume, sweep (lease reclaim); and the queue calls they stand on (reclaim, purge)."""

from sqlalchemy import text

from tests.cleanup.conftest import queue_statuses
from workers.cleanup import queue as cleanup_queue
from workers.operations import cleanup as cleanup_ops


def queue(sessions, count, prefix="ops/"):
    with sessions.begin() as session:
        session.execute(
            text(
                "INSERT INTO media_assets (public_id)"
                " SELECT :prefix || n FROM generate_series(1, :count) n"
            ),
            {"prefix": prefix, "count": count},
        )
        session.execute(text("DELETE FROM media_assets"))
        return (
            session.execute(text("SELECT id FROM cloudinary_cleanup_queue ORDER BY id"))
            .scalars()
            .all()
        )


def set_rows(sessions, sql, **params):
    with sessions.begin() as session:
        session.execute(text(f"UPDATE cloudinary_cleanup_queue SET {sql}"), params)


def test_status_counts_every_state_and_ages_the_oldest_pending_row(sessions):
    ids = queue(sessions, 4)
    set_rows(sessions, "status = 'failed' WHERE id = :id", id=ids[0])
    set_rows(
        sessions, "created_at = now() - interval '90 seconds' WHERE id = :id", id=ids[1]
    )

    with sessions.begin() as session:
        state = cleanup_ops.status(session)

    assert state.counts == {
        "pending": 3,
        "processing": 0,
        "completed": 0,
        "failed": 1,
        "skipped": 0,
        "held": 0,
        "cancelled": 0,
    }
    assert state.due == 3
    assert 89 < state.oldest_pending_age_s < 120
    assert not state.paused
    assert state.as_dict()["counts"]["failed"] == 1


def test_pause_is_a_flag_that_status_shows_and_resume_lifts(sessions):
    with sessions.begin() as session:
        assert cleanup_ops.pause(session, by="alice", reason="bad deploy")
        assert not cleanup_ops.pause(session, by="bob")  # already paused
    with sessions.begin() as session:
        state = cleanup_ops.status(session)
    assert (state.paused, state.paused_by, state.pause_reason) == (
        True,
        "alice",
        "bad deploy",
    )
    with sessions.begin() as session:
        assert cleanup_ops.resume(session)
        assert not cleanup_ops.resume(session)
        assert not cleanup_ops.is_paused(session)


def test_retry_failed_requeues_only_the_ids_given(sessions):
    ids = queue(sessions, 3)
    set_rows(sessions, "status = 'failed', attempts = 8, last_error = 'boom'")

    with sessions.begin() as session:
        retried = cleanup_ops.retry_failed(session, [ids[1]])

    assert retried == [ids[1]]
    assert queue_statuses(sessions) == {"failed": 2, "pending": 1}
    with sessions.begin() as session:
        attempts = session.execute(
            text("SELECT attempts FROM cloudinary_cleanup_queue WHERE id = :id"),
            {"id": ids[1]},
        ).scalar_one()
        logged = session.execute(
            text("SELECT status, source, details->>'last_error' FROM media_sync_log")
        ).all()
    assert attempts == 0
    assert logged == [("requeued", "operator", "boom")]


def test_retry_failed_without_ids_requeues_every_failed_row(sessions):
    queue(sessions, 3)
    set_rows(sessions, "status = 'failed'")
    with sessions.begin() as session:
        assert len(cleanup_ops.retry_failed(session)) == 3
    assert queue_statuses(sessions) == {"pending": 3}


def test_sweep_reclaims_leases_of_dead_workers_only(sessions):
    ids = queue(sessions, 3)
    with sessions.begin() as session:
        cleanup_queue.claim(session, "dead-worker/1", 2)
    set_rows(sessions, "locked_at = now() - interval '2 minutes'")
    with sessions.begin() as session:
        cleanup_queue.claim(session, "live-worker/1", 5)

    with sessions.begin() as session:
        result = cleanup_ops.sweep(session)

    assert (result.reclaimed, result.dead_lettered) == (2, 0)
    with sessions.begin() as session:
        rows = session.execute(
            text(
                "SELECT id, status, attempts, last_error FROM cloudinary_cleanup_queue"
                " ORDER BY id"
            )
        ).all()
    assert [(r[1], r[2]) for r in rows[:2]] == [("pending", 1), ("pending", 1)]
    assert "dead-worker/1" in rows[0][3]
    assert rows[2][:3] == (ids[2], "processing", 0)


def test_a_row_that_kills_its_worker_every_time_ends_failed(sessions):
    queue(sessions, 1)
    set_rows(sessions, "attempts = 7, max_attempts = 8")
    with sessions.begin() as session:
        cleanup_queue.claim(session, "dead-worker/2", 1)
        session.execute(
            text(
                "UPDATE cloudinary_cleanup_queue SET locked_at = now() - interval '1 hour'"
            )
        )
        assert cleanup_queue.reclaim_stale(session) == {"pending": 0, "failed": 1}


def test_purge_removes_only_old_finished_rows(sessions):
    ids = queue(sessions, 4)
    set_rows(
        sessions,
        "status = 'completed', completed_at = now() - interval '40 days'"
        " WHERE id = ANY(:ids)",
        ids=ids[:2],
    )
    set_rows(
        sessions, "status = 'completed', completed_at = now() WHERE id = :id", id=ids[2]
    )

    with sessions.begin() as session:
        assert cleanup_queue.purge(session, days=30) == 2

    assert queue_statuses(sessions) == {"completed": 1, "pending": 1}


def test_drains_for_sends_a_few_drains_per_burst_not_one_per_row():
    assert cleanup_queue.drains_for(0) == 0
    assert cleanup_queue.drains_for(1) == 1
    assert cleanup_queue.drains_for(250) == 3
    assert cleanup_queue.drains_for(10_000) == 4
    assert cleanup_queue.drains_for(10_000, parallel=8) == 8
