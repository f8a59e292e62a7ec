"""MEDIASYNC_DELETE_INVALIDATE: the cleanup flow's deletes ask Cloudinary to purge the CDN's
copies too (invalidate=true), on the Admin path and the destroy path, and only when set.
The emulator logs each delete that asked (GET /_emulator/invalidations)."""

from dataclasses import replace

import pytest
from sqlalchemy import text

from tests.cleanup.conftest import FAST, queue_statuses, remaining, seed
from tests.waiting import wait_until
from workers.cleanup import drain as cleanup
from workers.cleanup.tasks import enqueue_drains
from workers.config import Settings

INVALIDATING = replace(FAST, invalidate=True)


def purged(cloud):
    """(api, public_id) for every asset a delete asked to purge from the CDN."""
    return sorted(
        (entry["endpoint"], public_id)
        for entry in cloud.client.invalidations()
        for public_id in entry["public_ids"]
    )


def delete_all(sessions):
    with sessions.begin() as session:
        session.execute(text("DELETE FROM media_assets"))


def test_the_admin_path_sends_invalidate_when_the_policy_says_so(
    cloud, sessions, cloudinary, governor
):
    public_ids = seed(cloud, sessions, 3)
    delete_all(sessions)

    cleanup.drain(sessions, cloudinary, governor, holder="t", policy=INVALIDATING)

    assert remaining(cloud) == []
    assert cloud.client.counters()["delete_resources"] == 1
    assert purged(cloud) == [("delete_resources", p) for p in public_ids]


def test_the_destroy_path_sends_invalidate_when_the_policy_says_so(
    cloud, sessions, cloudinary, governor
):
    public_ids = seed(cloud, sessions, 3)
    cloud.client.set_rate_limit(500, remaining=0, reset_in=3600)
    delete_all(sessions)

    # the first drain's Admin call is refused and teaches the governor; then destroy
    wait_until(
        lambda: (
            cleanup.drain(
                sessions, cloudinary, governor, holder="t", policy=INVALIDATING
            )
            and queue_statuses(sessions) == {"completed": 3}
        ),
        timeout=10,
        what="the destroys",
    )

    assert cloud.client.counters()["destroy"] == 3
    assert purged(cloud) == [("destroy", p) for p in public_ids]


def test_without_the_setting_no_delete_asks_to_invalidate(
    cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, 2)
    delete_all(sessions)
    cleanup.drain(sessions, cloudinary, governor, holder="t", policy=FAST)
    seed(cloud, sessions, 2, prefix="t/d-")
    governor.observe(100, 5, 2**31)  # below the reserve: destroy, not delete_resources
    delete_all(sessions)
    cleanup.drain(sessions, cloudinary, governor, holder="t", policy=FAST)

    assert remaining(cloud) == []
    counters = cloud.client.counters()
    assert (counters["delete_resources"], counters["destroy"]) == (1, 2)
    assert purged(cloud) == []


@pytest.fixture
def settings(request, committed_db, redis_url, cloud):
    """The worker's settings read from an environment whose MEDIASYNC_DELETE_INVALIDATE
    is the test's parameter."""
    env = {
        "DATABASE_URL": committed_db,
        "REDIS_URL": redis_url,
        "CLOUDINARY_URL": cloud.cloudinary_url,
        "MEDIASYNC_DELETE_INVALIDATE": request.param,
    }
    return Settings.from_env(env)


@pytest.mark.parametrize(
    ("settings", "invalidates"),
    [("true", True), ("", False)],
    ids=["set", "unset"],
    indirect=["settings"],
)
def test_the_worker_follows_mediasync_delete_invalidate(
    celery_worker, settings, invalidates, start_listener, cloud, sessions
):
    start_listener(settings.database_url, enqueue_drains)
    public_ids = seed(cloud, sessions, 3)
    with sessions.begin() as session:
        session.execute(text("UPDATE media_assets SET deleted_at = now()"))

    wait_until(lambda: remaining(cloud) == [], timeout=5, what="the deletes")
    wait_until(lambda: queue_statuses(sessions) == {"completed": 3}, timeout=5)

    expected = [("delete_resources", p) for p in public_ids]
    assert purged(cloud) == (expected if invalidates else [])
