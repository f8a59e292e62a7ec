"""How cleanup.drain meets Cloudinary errors (emulator faults through the real SDK)."""

import time

import pytest
from sqlalchemy import text

from tests.cleanup.conftest import BULK, FAST, queue_statuses, remaining, seed
from tests.waiting import wait_until
from workers.cleanup import drain as cleanup
from workers.operations import cleanup as cleanup_ops


def delete_all(sessions):
    with sessions.begin() as session:
        session.execute(text("DELETE FROM media_assets"))


def drain_until_done(sessions, cloudinary, governor, policy=FAST, timeout=10.0):
    def done():
        cleanup.drain(sessions, cloudinary, governor, holder="test", policy=policy)
        statuses = queue_statuses(sessions)
        return statuses if set(statuses) <= {"completed", "failed", "skipped"} else None

    return wait_until(done, timeout=timeout, interval=0.05, what="the queue to settle")


def queue_row(sessions):
    with sessions.begin() as session:
        return session.execute(
            text(
                "SELECT status, attempts, last_error, response"
                " FROM cloudinary_cleanup_queue"
            )
        ).one()


def test_server_errors_are_retried_with_backoff_until_success(
    cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, 3)
    cloud.client.fault("delete_resources", status=500, count=3)
    delete_all(sessions)

    drain_until_done(sessions, cloudinary, governor)

    assert remaining(cloud) == []
    assert cloud.client.counters()["delete_resources"] == 4
    with sessions.begin() as session:
        rows = session.execute(
            text("SELECT status, attempts FROM cloudinary_cleanup_queue")
        ).all()
    assert rows == [("completed", 4)] * 3
    with sessions.begin() as session:
        logged = session.execute(
            text("SELECT status, count(*) FROM media_sync_log GROUP BY 1")
        ).all()
    assert dict(logged) == {"error": 9, "deleted": 3}


def test_a_dropped_connection_is_retried(cloud, sessions, cloudinary, governor):
    seed(cloud, sessions, 1)
    # urllib3 itself retries a dropped DELETE three times; the fourth drop reaches us
    cloud.client.fault("delete_resources", drop=True, count=4)
    delete_all(sessions)

    drain_until_done(sessions, cloudinary, governor)

    assert remaining(cloud) == []
    assert queue_statuses(sessions) == {"completed": 1}


def test_rate_limited_call_waits_for_the_reset_then_completes(
    cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, 2)
    cloud.client.set_rate_limit(100, remaining=0, reset_in=2)
    delete_all(sessions)
    started = time.monotonic()

    report = cleanup.drain(sessions, cloudinary, governor, holder="t", policy=FAST)

    assert report.results == {"rate_limited": 2}
    with sessions.begin() as session:
        rows = session.execute(
            text(
                "SELECT status, attempts, next_attempt_at > now() FROM cloudinary_cleanup_queue"
            )
        ).all()
    # waiting for a reset is not a failed attempt
    assert rows == [("pending", 0, True)] * 2
    assert governor.snapshot().remaining == 0

    drain_until_done(sessions, cloudinary, governor)

    assert time.monotonic() - started >= 1.5
    assert remaining(cloud) == []
    assert cloud.client.counters()["destroy"] == 0


def test_a_bad_request_fails_at_once_and_retry_failed_completes_it(
    cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, 1)
    cloud.client.fault("delete_resources", status=400, message="Invalid public_id")
    delete_all(sessions)

    drain_until_done(sessions, cloudinary, governor)

    status, attempts, last_error, _ = queue_row(sessions)
    assert (status, attempts) == ("failed", 1)
    assert "Invalid public_id" in last_error
    assert len(remaining(cloud)) == 1

    cloud.client.clear_faults()
    with sessions.begin() as session:
        retried = cleanup_ops.retry_failed(session)
    assert len(retried) == 1
    drain_until_done(sessions, cloudinary, governor)

    assert queue_row(sessions)[0] == "completed"
    assert remaining(cloud) == []


def test_a_row_that_keeps_failing_is_dead_lettered_after_max_attempts(
    cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, 1)
    cloud.client.fault("delete_resources", status=503, count=100)
    delete_all(sessions)
    with sessions.begin() as session:
        session.execute(text("UPDATE cloudinary_cleanup_queue SET max_attempts = 3"))

    drain_until_done(sessions, cloudinary, governor)

    status, attempts, last_error, _ = queue_row(sessions)
    assert (status, attempts) == ("failed", 3)
    assert last_error.startswith("gave up after 3 attempts")


def test_deletes_go_through_destroy_when_the_admin_budget_is_exhausted(
    cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, 30)
    cloud.client.set_rate_limit(500, remaining=0, reset_in=3600)
    delete_all(sessions)

    drain_until_done(sessions, cloudinary, governor)

    assert remaining(cloud) == []
    counters = cloud.client.counters()
    # one refused Admin call teaches the governor; everything else uses the Upload API
    assert counters["delete_resources"] == 1
    assert counters["destroy"] == 30
    with sessions.begin() as session:
        apis = (
            session.execute(
                text("SELECT DISTINCT response->>'api' FROM cloudinary_cleanup_queue")
            )
            .scalars()
            .all()
        )
    assert apis == ["destroy"]


def test_a_low_budget_switches_to_destroy_before_any_refusal(
    cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, 4)
    # 10% of 100 is the reserve: 5 left is below what the governor will spend
    governor.observe(100, 5, time.time() + 3600)
    delete_all(sessions)

    drain_until_done(sessions, cloudinary, governor)

    counters = cloud.client.counters()
    assert (counters["delete_resources"], counters["destroy"]) == (0, 4)
    assert remaining(cloud) == []


def test_a_paused_cleanup_deletes_nothing_and_loses_nothing(
    cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, 3)
    with sessions.begin() as session:
        cleanup_ops.pause(session, by="test", reason="incident")
    delete_all(sessions)

    report = cleanup.drain(sessions, cloudinary, governor, holder="t", policy=FAST)

    assert report.paused
    assert len(remaining(cloud)) == 3
    assert queue_statuses(sessions) == {"pending": 3}

    with sessions.begin() as session:
        cleanup_ops.resume(session)
    drain_until_done(sessions, cloudinary, governor)
    assert remaining(cloud) == []


def test_destroy_failures_are_classified_like_admin_ones(
    cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, 1)
    governor.observe(100, 0, time.time() + 3600)
    cloud.client.fault("destroy", status=403, message="Not allowed here")
    delete_all(sessions)

    drain_until_done(sessions, cloudinary, governor)

    status, attempts, last_error, _ = queue_row(sessions)
    assert (status, attempts) == ("failed", 1)
    assert "Not allowed here" in last_error


def test_a_spent_budget_whose_reset_is_near_is_waited_for_not_destroyed(
    cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, 250)
    cloud.client.set_rate_limit(1000, remaining=0, reset_in=3)
    delete_all(sessions)

    report = cleanup.drain(sessions, cloudinary, governor, holder="t", policy=BULK)

    # one refused call teaches the governor; the drain then stops to wait for the reset
    assert report.results == {"rate_limited": 100}
    assert report.waiting_for_reset is not None
    assert report.retry_at == pytest.approx(report.waiting_for_reset, abs=0.01)
    assert 0 < report.waiting_for_reset - time.time() <= 4.5
    with sessions.begin() as session:
        rows = session.execute(
            text(
                "SELECT status, attempts, next_attempt_at > now(), count(*)"
                " FROM cloudinary_cleanup_queue GROUP BY 1, 2, 3"
            )
        ).all()
    # every row waits for the reset, none spent an attempt, none is due meanwhile
    assert rows == [("pending", 0, True, 250)]
    assert (
        cleanup.drain(sessions, cloudinary, governor, holder="t", policy=BULK).batches
        == 0
    )

    drain_until_done(sessions, cloudinary, governor, policy=BULK)

    counters = cloud.client.counters()
    assert (counters["delete_resources"], counters["destroy"]) == (1 + 3, 0)
    assert remaining(cloud) == []


def test_a_low_budget_with_a_near_reset_waits_too_and_leaves_the_reserve(
    cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, 4)
    # 5 left of 100 is inside the 10% reserve other Admin callers (reconcile) keep
    governor.observe(100, 5, time.time() + 5)
    delete_all(sessions)

    report = cleanup.drain(sessions, cloudinary, governor, holder="t", policy=FAST)

    assert report.batches == 0
    assert report.waiting_for_reset is not None
    counters = cloud.client.counters()
    assert (counters["delete_resources"], counters["destroy"]) == (0, 0)
    assert queue_statuses(sessions) == {"pending": 4}
