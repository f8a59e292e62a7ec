"""End to end with a real Celery worker and the emulator: a cleanup that failed on
Cloudinary's faults is found in the console, opened, retried, and completes."""

from __future__ import annotations

import pytest

from tests.console.conftest import OPERATORS
from tests.operator_api.conftest import TOKEN, insert_assets, run_sql
from tests.waiting import wait_until
from workers.config import CloudinaryAccount, Settings


@pytest.fixture
def settings(committed_db: str, redis_url: str, account: CloudinaryAccount) -> Settings:
    return Settings(
        database_url=committed_db,
        redis_url=redis_url,
        cloudinary=account,
        api_token=TOKEN,
        console_operators=OPERATORS,
    )


def cleanup_status(sessions, public_id):
    return run_sql(
        sessions,
        "SELECT id, status FROM cloudinary_cleanup_queue WHERE public_id = :pid",
        pid=public_id,
    )


def test_a_failed_cleanup_is_retried_and_completes(
    app, celery_worker, alice, sessions, cloud
):
    cloud.client.seed(count=1, prefix="e2e/")
    (public_id,) = [a["public_id"] for a in cloud.client.assets()]
    insert_assets(sessions, [{"public_id": public_id}])
    # hold the delete back while the row is made to give up after one attempt
    assert alice.post("/console/flows/cleanup/pause").status_code == 302
    run_sql(sessions, "DELETE FROM media_assets WHERE public_id = :pid", pid=public_id)
    run_sql(sessions, "UPDATE cloudinary_cleanup_queue SET max_attempts = 1")
    for endpoint in ("delete_resources", "destroy"):
        cloud.client.fault(endpoint, status=500, count=1000, message="emulated outage")
    assert alice.post("/console/flows/cleanup/resume").status_code == 302
    wait_until(
        lambda: cleanup_status(sessions, public_id)[0][1] == "failed",
        timeout=30,
        what="the cleanup to fail on the emulator's faults",
    )
    ((queue_id, _),) = cleanup_status(sessions, public_id)
    cloud.client.clear_faults()
    assert cloud.client.count_assets() == 1

    listing = alice.get("/console/cleanups?status=failed&prefix=e2e/")
    assert f'<tr data-id="{queue_id}" data-status="failed">' in listing.get_data(
        as_text=True
    )
    page = alice.get(f"/console/cleanups/{queue_id}").get_data(as_text=True)
    assert 'id="retry"' in page
    assert alice.post(f"/console/cleanups/{queue_id}/retry").status_code == 302
    wait_until(
        lambda: cleanup_status(sessions, public_id)[0][1] == "completed",
        timeout=30,
        what="the retried cleanup to complete",
    )
    assert cloud.client.count_assets() == 0
    done = alice.get(f"/console/cleanups/{queue_id}").get_data(as_text=True)
    assert 'id="row-status">completed<' in done
