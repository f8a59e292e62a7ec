"""Row deletes reach Cloudinary: trigger → NOTIFY → listener → Celery worker → emulator."""

import pytest
from sqlalchemy import text

from tests.cleanup.conftest import queue_statuses, remaining, seed
from tests.waiting import wait_until
from workers.cleanup.tasks import enqueue_drains


@pytest.fixture
def pipeline(celery_worker, settings, start_listener):
    """A Celery worker and one listener, both on this test's database and Redis."""
    return start_listener(settings.database_url, enqueue_drains)


def gone(cloud, prefix="t/"):
    return lambda: remaining(cloud, prefix) == []


def test_a_hard_deleted_row_is_deleted_from_cloudinary_within_5_s(
    pipeline, cloud, sessions
):
    [public_id] = seed(cloud, sessions, 1)
    with sessions.begin() as session:
        session.execute(
            text("DELETE FROM media_assets WHERE public_id = :p"), {"p": public_id}
        )

    wait_until(gone(cloud), timeout=5, what="the asset to be deleted")
    wait_until(lambda: queue_statuses(sessions) == {"completed": 1}, timeout=5)


def test_a_soft_deleted_row_is_deleted_from_cloudinary_within_5_s(
    pipeline, cloud, sessions
):
    seed(cloud, sessions, 2)
    with sessions.begin() as session:
        session.execute(text("UPDATE media_assets SET deleted_at = now()"))

    wait_until(gone(cloud), timeout=5, what="the assets to be deleted")


def test_a_delete_that_cloudinary_itself_made_is_not_sent_back(
    pipeline, cloud, sessions
):
    echoed, ordinary = seed(cloud, sessions, 2)
    with sessions.begin() as session:
        session.execute(text("SET LOCAL mediasync.origin = 'cloudinary'"))
        session.execute(
            text("DELETE FROM media_assets WHERE public_id = :p"), {"p": echoed}
        )
    with sessions.begin() as session:
        session.execute(
            text("DELETE FROM media_assets WHERE public_id = :p"), {"p": ordinary}
        )

    # the ordinary delete went all the way through; the echoed one never entered the queue
    wait_until(lambda: remaining(cloud) == [echoed], timeout=5)
    wait_until(lambda: queue_statuses(sessions) == {"completed": 1}, timeout=5)


def test_rows_deleted_while_the_listener_was_down_are_deleted_when_it_starts(
    celery_worker, settings, start_listener, cloud, sessions
):
    seed(cloud, sessions, 100)
    first = start_listener(settings.database_url, enqueue_drains)
    first.stop()
    with sessions.begin() as session:
        session.execute(text("DELETE FROM media_assets"))
    assert len(remaining(cloud)) == 100

    start_listener(settings.database_url, enqueue_drains)

    wait_until(gone(cloud), timeout=10, what="the catch-up to delete all 100")
    wait_until(lambda: queue_statuses(sessions) == {"completed": 100}, timeout=5)


def test_a_rate_limited_batch_is_woken_again_after_the_reset(pipeline, cloud, sessions):
    seed(cloud, sessions, 3)
    cloud.client.set_rate_limit(100, remaining=0, reset_in=2)
    with sessions.begin() as session:
        session.execute(text("DELETE FROM media_assets"))

    # no sweep runs here: the drain itself schedules the wake-up for the reset
    wait_until(gone(cloud), timeout=10, what="the deletes after the reset")
    assert cloud.client.counters()["destroy"] == 0
