"""Leases: a drain renews its batch's lease while a slow call is out; a dead holder's
lease lapses in seconds and the reclaim task hands its rows to a new drain."""

import threading
import time

from sqlalchemy import text

from tests.cleanup.conftest import FAST, queue_statuses, remaining, seed
from tests.waiting import wait_until
from workers.celery_app import configure
from workers.cleanup import drain as cleanup
from workers.cleanup import queue as cleanup_queue
from workers.cleanup import tasks as cleanup_tasks


def delete_all(sessions):
    with sessions.begin() as session:
        session.execute(text("DELETE FROM media_assets"))


def test_a_slow_call_keeps_its_lease_alive_past_the_lease_length(
    cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, 5)
    cloud.client.fault("delete_resources", latency_ms=3000)
    delete_all(sessions)
    policy = cleanup.CleanupPolicy(retry=FAST.retry, renew_every_s=0.3)
    reports = []
    drainer = threading.Thread(
        target=lambda: reports.append(
            cleanup.drain(sessions, cloudinary, governor, holder="slow", policy=policy)
        )
    )
    drainer.start()
    wait_until(lambda: queue_statuses(sessions) == {"processing": 5})
    time.sleep(2.0)
    with sessions.begin() as session:
        # a lease of 1 s would have lapsed twice over without the renewals
        assert cleanup_queue.reclaim_stale(session, lease_s=1.0) == {
            "pending": 0,
            "failed": 0,
        }
    drainer.join(timeout=15)

    assert reports[0].results == {"deleted": 5}
    assert reports[0].lease_lost == 0
    assert queue_statuses(sessions) == {"completed": 5}


def test_rows_of_a_holder_that_stopped_renewing_are_reclaimed_within_seconds(sessions):
    with sessions.begin() as session:
        session.execute(text("INSERT INTO media_assets (public_id) VALUES ('l/1')"))
        session.execute(text("DELETE FROM media_assets"))
    with sessions.begin() as session:
        # a drain that claimed, then died: nothing renews its lease
        assert len(cleanup_queue.claim(session, "dead/1", 100)) == 1
    with sessions.begin() as session:
        assert cleanup_queue.reclaim_stale(session, lease_s=1.0)["pending"] == 0
    time.sleep(1.2)
    with sessions.begin() as session:
        assert cleanup_queue.reclaim_stale(session, lease_s=1.0)["pending"] == 1
        row = session.execute(
            text("SELECT status, attempts, last_error FROM cloudinary_cleanup_queue")
        ).one()
    assert row[:2] == ("pending", 1)
    assert "dead/1" in row[2]
    assert cleanup_queue.LEASE_S <= 10


def test_the_reclaim_task_hands_dead_rows_to_a_new_drain(
    cloud, sessions, settings, celery_worker
):
    seed(cloud, sessions, 3)
    configure(settings)
    with sessions.begin() as session:
        session.execute(text("DELETE FROM media_assets"))
        session.execute(
            text(
                "UPDATE cloudinary_cleanup_queue SET status = 'processing',"
                " locked_by = 'dead/2', locked_at = now() - interval '30 seconds'"
            )
        )

    assert cleanup_tasks.reclaim() == {"pending": 3, "failed": 0}

    wait_until(
        lambda: queue_statuses(sessions) == {"completed": 3},
        timeout=15,
        what="the reclaimed rows to be deleted",
    )
    assert remaining(cloud) == []
