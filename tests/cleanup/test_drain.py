"""cleanup.drain against the emulator through the real SDK: batching, outcomes, idempotency."""

from sqlalchemy import text

from tests.cleanup.conftest import BULK, FAST, queue_statuses, remaining, seed
from workers.cleanup import drain as cleanup


def run_drain(sessions, cloudinary, governor, policy=FAST):
    return cleanup.drain(sessions, cloudinary, governor, holder="test", policy=policy)


def test_deleted_rows_are_removed_from_cloudinary_in_calls_of_at_most_100(
    cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, 250)
    with sessions.begin() as session:
        session.execute(text("DELETE FROM media_assets"))
    cloud.client.reset_counters()

    report = run_drain(sessions, cloudinary, governor, policy=BULK)

    assert remaining(cloud) == []
    assert cloud.client.counters()["delete_resources"] == 3
    assert report.results == {"deleted": 250}
    assert queue_statuses(sessions) == {"completed": 250}


def test_each_delivery_type_gets_its_own_calls(cloud, sessions, cloudinary, governor):
    seed(cloud, sessions, 3, prefix="t/img-")
    seed(cloud, sessions, 2, prefix="t/vid-", resource_type="video")
    seed(cloud, sessions, 2, prefix="t/priv-", delivery_type="private")
    with sessions.begin() as session:
        session.execute(text("UPDATE media_assets SET deleted_at = now()"))
    cloud.client.reset_counters()

    run_drain(sessions, cloudinary, governor)

    assert remaining(cloud) == []
    assert cloud.client.counters()["delete_resources"] == 3


def test_an_asset_already_gone_from_cloudinary_completes_as_not_found(
    cloud, sessions, cloudinary, governor
):
    with sessions.begin() as session:
        session.execute(
            text("INSERT INTO media_assets (public_id) VALUES ('t/never-uploaded')")
        )
        session.execute(text("DELETE FROM media_assets"))

    run_drain(sessions, cloudinary, governor)

    with sessions.begin() as session:
        status, response = session.execute(
            text("SELECT status, response FROM cloudinary_cleanup_queue")
        ).one()
    assert status == "completed"
    assert response["result"] == "not_found"
    assert response["api"] == "delete_resources"


def test_every_attempt_is_written_to_the_sync_log(
    cloud, sessions, cloudinary, governor
):
    [public_id] = seed(cloud, sessions, 1)
    with sessions.begin() as session:
        session.execute(text("DELETE FROM media_assets"))
        queue_id = session.execute(
            text("SELECT id FROM cloudinary_cleanup_queue")
        ).scalar_one()

    run_drain(sessions, cloudinary, governor)

    with sessions.begin() as session:
        log = session.execute(
            text(
                "SELECT operation, status, public_id, asset_id, source, duration_ms,"
                " details FROM media_sync_log"
            )
        ).one()
    operation, status, logged_pid, asset_id, source, duration_ms, details = log
    assert (operation, status, logged_pid, source) == (
        "cleanup",
        "deleted",
        public_id,
        "trigger",
    )
    assert asset_id is not None
    assert duration_ms > 0
    assert details["queue_id"] == queue_id
    assert details["answer"]["result"] == "deleted"


def test_a_row_whose_identity_is_live_again_is_skipped_and_the_asset_kept(
    cloud, sessions, cloudinary, governor
):
    [public_id] = seed(cloud, sessions, 1)
    with sessions.begin() as session:
        session.execute(text("DELETE FROM media_assets"))
        # re-uploaded before the cleanup ran: a live mirror row holds the identity again
        session.execute(
            text("INSERT INTO media_assets (public_id) VALUES (:pid)"),
            {"pid": public_id},
        )

    run_drain(sessions, cloudinary, governor)

    assert remaining(cloud) == [public_id]
    assert queue_statuses(sessions) == {"skipped": 1}
    assert cloud.client.counters()["delete_resources"] == 0


def test_draining_again_changes_nothing(cloud, sessions, cloudinary, governor):
    seed(cloud, sessions, 5)
    with sessions.begin() as session:
        session.execute(text("DELETE FROM media_assets"))
    run_drain(sessions, cloudinary, governor)
    cloud.client.reset_counters()

    report = run_drain(sessions, cloudinary, governor)

    assert report.claimed == 0
    assert cloud.client.counters()["delete_resources"] == 0
    assert queue_statuses(sessions) == {"completed": 5}


def test_echo_suppressed_delete_queues_nothing_and_keeps_the_asset(
    cloud, sessions, cloudinary, governor
):
    [public_id] = seed(cloud, sessions, 1)
    with sessions.begin() as session:
        session.execute(text("SET LOCAL mediasync.origin = 'cloudinary'"))
        session.execute(text("DELETE FROM media_assets"))

    run_drain(sessions, cloudinary, governor)

    assert remaining(cloud) == [public_id]
    assert queue_statuses(sessions) == {}
