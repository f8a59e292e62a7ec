"""End to end with a real Celery worker: the API's wake-ups reach the workers."""

from tests.operator_api.conftest import insert_assets, run_sql
from tests.waiting import wait_until


def test_resume_and_retry_failed_drive_real_deletes(
    app, celery_worker, api, sessions, cloud
):
    cloud.client.seed(count=3, prefix="w/")
    public_ids = sorted(a["public_id"] for a in cloud.client.assets())
    insert_assets(sessions, [{"public_id": pid} for pid in public_ids])

    assert api.post("/api/cleanup/pause").get_json()["paused"] is True
    deleted = api.delete("/api/media?public_ids=" + ",".join(public_ids[:2]))
    assert deleted.get_json()["deleted"] == public_ids[:2]
    # the sweep sends nothing while paused: the assets stay
    assert api.post("/api/cleanup/sweep").get_json()["drains"] == 0
    assert cloud.client.count_assets() == 3

    assert api.post("/api/cleanup/resume").get_json()["enqueued"] is True
    wait_until(
        lambda: cloud.client.count_assets() == 1, timeout=20, what="the paused deletes"
    )
    wait_until(
        lambda: (
            run_sql(
                sessions,
                "SELECT count(*) FROM cloudinary_cleanup_queue WHERE status = 'completed'",
            )
            == [(2,)]
        ),
        timeout=10,
        what="both queue rows completed",
    )

    # a row that failed for good comes back through retry-failed and is deleted
    api.delete(f"/api/media?public_ids={public_ids[2]}")
    run_sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET status = 'failed', attempts = 8,"
        " last_error = 'gave up' WHERE public_id = :pid",
        pid=public_ids[2],
    )
    retried = api.post("/api/cleanup/retry-failed").get_json()
    assert len(retried["retried"]) == 1
    wait_until(lambda: cloud.client.count_assets() == 0, timeout=20, what="the retry")
