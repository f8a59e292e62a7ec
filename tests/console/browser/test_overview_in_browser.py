"""The overview and the inbox in a real browser: the numbers shown are the database's, and
a bulk replay is chosen by filter, previewed with its count, run, and reported."""

from __future__ import annotations

from tests.console.browser.conftest import log_in, screenshot
from tests.console.conftest import ALICE
from tests.console.helpers import add_cleanups, add_inbox, set_cleanup_status
from tests.operator_api.conftest import insert_assets, run_sql


def shown_counts(page, table: str) -> dict[str, int]:
    """status -> the number in the overview's table of counts `table`."""
    return {
        row.get_attribute("data-status"): int(row.locator("td.num").text_content())
        for row in page.locator(f"#{table} tr[data-status]").all()
    }


def db_counts(sessions, table: str) -> dict[str, int]:
    return dict(
        run_sql(sessions, f"SELECT status, count(*) FROM {table} GROUP BY status")
    )


def seed(sessions) -> None:
    insert_assets(
        sessions,
        [
            {"public_id": f"shop/item-{n}", "folder": "shop", "tags": ["sale"]}
            for n in range(12)
        ],
    )
    for n, status in enumerate(
        ["pending"] * 3 + ["applied"] * 7 + ["ignored"] * 2 + ["failed"] * 4
    ):
        add_inbox(sessions, n, status, public_id=f"shop/item-{n % 12}")
    ids = add_cleanups(sessions, [f"gone/{n}" for n in range(9)])
    set_cleanup_status(sessions, ids[:2], "failed")
    set_cleanup_status(sessions, ids[2:5], "held")
    set_cleanup_status(sessions, ids[5:6], "completed")


def test_the_overview_shows_the_databases_numbers(page, sessions):
    seed(sessions)
    log_in(page, ALICE)
    page.goto("/console/?refresh=0")

    inbox = db_counts(sessions, "webhook_inbox")
    shown = shown_counts(page, "inbox-counts")
    assert shown == {s: inbox.get(s, 0) for s in shown}
    assert (shown["failed"], shown["pending"]) == (4, 3)  # the seed, as a sanity check
    for status, count in shown.items():
        assert int(page.text_content(f"#inbox-count-{status}")) == count

    cleanups = db_counts(sessions, "cloudinary_cleanup_queue")
    shown = shown_counts(page, "cleanup-counts")
    assert shown == {s: cleanups.get(s, 0) for s in shown}
    assert sum(shown.values()) == sum(cleanups.values()) == 9
    assert int(page.text_content("#held-deletes")) == cleanups["held"] == 3

    ((tripped,),) = run_sql(
        sessions, "SELECT tripped_at IS NOT NULL FROM mediasync_delete_breaker"
    )
    assert page.get_attribute("#breaker-state", "data-tripped") == str(tripped).lower()

    ((oldest,),) = run_sql(
        sessions,
        "SELECT extract(epoch FROM now() - min(received_at)) FROM webhook_inbox"
        " WHERE status = 'pending'",
    )
    waited = float(page.get_attribute("#inbox-oldest-pending", "data-seconds"))
    assert 0 <= waited <= float(oldest) + 1
    ((applied,),) = run_sql(
        sessions,
        "SELECT count(*) FROM webhook_inbox WHERE status IN ('applied', 'ignored')"
        " AND applied_at >= now() - interval '1 hour'",
    )
    assert int(page.text_content("#applied-last-hour")) == applied == 9
    assert page.get_attribute("#flow-cleanup", "data-paused") == "false"
    # the alert rules are one click away
    page.click("#alert-rules-link")
    assert "MediasyncCanaryStale" in page.text_content("main")
    page.go_back()
    screenshot(page, "console-overview")

    # an asset's page from the assets search: its mirror row and the webhooks naming it
    page.click("#console-nav >> text=Assets")
    page.fill("input[name=prefix]", "shop/item-1")
    page.press("input[name=prefix]", "Enter")
    page.get_by_role("link", name="shop/item-1", exact=True).click()
    assert page.text_content("#asset-public-id") == "shop/item-1"
    assert page.locator("#asset-timeline tr[data-kind=webhook]").count() == 2
    screenshot(page, "console-asset")


def test_bulk_replay_of_fifty_failed_inbox_rows_chosen_by_filter(page, sessions):
    for n in range(50):
        add_inbox(sessions, n, "failed", public_id=f"campaign/{n}")
    for n in range(7):  # failed, but outside the filter
        add_inbox(sessions, 100 + n, "failed", public_id=f"other/{n}")
    for n in range(5):  # inside the filter, but not failed
        add_inbox(sessions, 200 + n, "applied", public_id=f"campaign/ok-{n}")

    log_in(page, ALICE)
    page.goto("/console/inbox")
    page.select_option("#inbox-filter select[name=status]", "failed")
    page.fill("#inbox-filter input[name=prefix]", "campaign/")
    page.click("#filter-submit")
    assert "prefix=campaign" in page.url
    assert page.locator("#inbox-rows tbody tr[data-status=failed]").count() == 50

    page.click("#bulk-retry-link")
    ((matching,),) = run_sql(
        sessions,
        "SELECT count(*) FROM webhook_inbox WHERE status = 'failed'"
        " AND body->>'public_id' LIKE 'campaign/%'",
    )
    assert int(page.text_content("#bulk-count")) == matching == 50
    assert page.get_attribute("#bulk-preview-count", "data-matching") == "50"
    assert page.text_content("#bulk-confirm") == "Retry 50 rows"

    page.click("#bulk-confirm")
    assert page.get_attribute("#bulk-result-count", "data-count") == "50"
    assert db_counts(sessions, "webhook_inbox") == {
        "pending": 50,
        "failed": 7,
        "applied": 5,
    }
    assert run_sql(
        sessions,
        "SELECT count(*) FROM webhook_inbox WHERE status = 'pending'"
        " AND body->>'public_id' NOT LIKE 'campaign/%'",
    ) == [(0,)]
    ((entry,),) = run_sql(
        sessions,
        "SELECT details FROM media_sync_log WHERE operation = 'console.inbox.bulk_retry'",
    )
    assert (entry["operator"], entry["count"]) == ("alice", 50)
    page.click("#back-to-list")
    assert page.locator("#inbox-rows tbody tr[data-status=pending]").count() == 0
    assert "status=failed" in page.url
    assert page.locator("#no-rows").is_visible()
