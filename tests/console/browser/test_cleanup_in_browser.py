"""End to end in a real browser, with a real Celery worker and the emulator: a cleanup that
failed on Cloudinary's (emulated) faults is found, opened, retried and watched until it
completes; the asset's page then tells the whole story."""

from __future__ import annotations

import time

from tests.console.browser.conftest import log_in
from tests.console.conftest import ALICE
from tests.operator_api.conftest import insert_assets, run_sql
from tests.waiting import wait_until


def cleanup_status(sessions, public_id):
    return run_sql(
        sessions,
        "SELECT id, status FROM cloudinary_cleanup_queue WHERE public_id = :pid",
        pid=public_id,
    )


def test_a_failed_cleanup_is_found_retried_and_watched_to_completion(
    page, celery_worker, sessions, cloud
):
    cloud.client.seed(count=1, prefix="e2e/")
    (public_id,) = [a["public_id"] for a in cloud.client.assets()]
    insert_assets(
        sessions, [{"public_id": public_id, "folder": "e2e", "tags": ["demo"]}]
    )
    log_in(page, ALICE)

    # hold deletes back (from the overview) while the row is set to give up at once
    page.goto("/console/?refresh=0")
    page.fill("#flow-cleanup input[name=reason]", "staging a failure")
    page.click("#pause-cleanup")
    assert page.get_attribute("#flow-cleanup", "data-paused") == "true"
    run_sql(sessions, "DELETE FROM media_assets WHERE public_id = :pid", pid=public_id)
    run_sql(sessions, "UPDATE cloudinary_cleanup_queue SET max_attempts = 1")
    for endpoint in ("delete_resources", "destroy"):
        cloud.client.fault(endpoint, status=500, count=1000, message="emulated outage")
    page.click("#resume-cleanup")
    assert page.get_attribute("#flow-cleanup", "data-paused") == "false"
    wait_until(
        lambda: cleanup_status(sessions, public_id)[0][1] == "failed",
        timeout=30,
        what="the cleanup to fail on the emulator's faults",
    )
    ((queue_id, _),) = cleanup_status(sessions, public_id)
    cloud.client.clear_faults()
    assert cloud.client.count_assets() == 1

    # find it: the overview's failed count leads to the filtered list
    page.goto("/console/?refresh=0")
    assert page.text_content("#cleanup-count-failed") == "1"
    page.click("#cleanup-counts tr[data-status=failed] a")
    page.fill("#cleanup-filter input[name=prefix]", "e2e/")
    page.click("#filter-submit")
    row = page.locator(f"#cleanup-rows tr[data-id='{queue_id}']")
    assert row.get_attribute("data-status") == "failed"
    assert "emulated outage" in row.locator("td.error").text_content()

    # open it, retry it
    row.locator("td >> nth=0 >> a").click()
    assert page.text_content("#row-status") == "failed"
    assert "emulated outage" in page.text_content("#row-error")
    page.click("#retry")
    assert page.is_visible("#action-result")

    # watch it complete, reloading as a person would
    deadline = time.monotonic() + 30
    while page.text_content("#row-status") != "completed":
        assert time.monotonic() < deadline, "the retried cleanup did not complete"
        page.wait_for_timeout(300)
        page.reload()
    assert cloud.client.count_assets() == 0
    assert page.locator("#retry").count() == 0

    # the asset's page: its story, from upload to the completed delete
    page.click("#cleanup-row dd.pid a")
    assert page.text_content("#asset-public-id") == public_id
    kinds = page.locator("#asset-timeline tr.event").evaluate_all(
        "rows => rows.map(r => r.dataset.kind)"
    )
    assert "cleanup" in kinds
    audit = run_sql(
        sessions,
        "SELECT operation, details->>'operator' FROM media_sync_log"
        " WHERE operation LIKE 'console.%' AND operation <> 'console.login' ORDER BY id",
    )
    assert audit == [
        ("console.flow.pause", "alice"),
        ("console.flow.resume", "alice"),
        ("console.cleanup.retry", "alice"),
    ]
