"""What the pages show: the overview's numbers against the database, escaping of user data,
filters and keyset pages, an asset's story, reconcile runs, the audit log."""

from __future__ import annotations

import html
import json
import re

from tests.console.conftest import number
from tests.console.helpers import add_cleanups, add_inbox, set_cleanup_status
from tests.operator_api.conftest import insert_assets, run_sql

SCRIPT = "<script>alert('pwned')</script>"


def test_overview_numbers_equal_the_database(alice, sessions):
    for n in range(3):
        add_inbox(sessions, n, "failed")
    for n in range(4):
        add_inbox(sessions, 10 + n, "applied")
    add_inbox(sessions, 20, "pending")
    ids = add_cleanups(sessions, [f"ov/{n}" for n in range(6)])
    set_cleanup_status(sessions, ids[:2], "failed")
    set_cleanup_status(sessions, ids[2:3], "held")
    run_sql(
        sessions,
        "INSERT INTO mediasync_heartbeats (name, last_seen, details) VALUES"
        " ('worker-canary', now() - interval '1 hour', '{\"worker\": \"w@host\"}'),"
        ' (\'listener:l-1\', now(), \'{"host": "h", "pid": 7, "state": "listening"}\')',
    )
    run_sql(
        sessions,
        "INSERT INTO mediasync_pauses (flow, paused_by, reason)"
        " VALUES ('reconcile', 'someone', 'maintenance')",
    )
    page = alice.get("/console/").get_data(as_text=True)
    inbox = dict(
        run_sql(sessions, "SELECT status, count(*) FROM webhook_inbox GROUP BY 1")
    )
    cleanup = dict(
        run_sql(
            sessions, "SELECT status, count(*) FROM cloudinary_cleanup_queue GROUP BY 1"
        )
    )
    for status in ("pending", "applied", "ignored", "failed"):
        assert number(page, f"inbox-count-{status}") == inbox.get(status, 0)
    for status in ("pending", "processing", "completed", "failed", "held"):
        assert number(page, f"cleanup-count-{status}") == cleanup.get(status, 0)
    assert number(page, "held-deletes") == 1
    assert number(page, "applied-last-hour") == 4
    assert 'id="breaker-state" data-tripped="false"' in page
    assert re.search(r'data-kind="worker" data-stale="true"', page)
    assert re.search(r'data-kind="listener" data-stale="false"', page)
    assert 'id="flow-reconcile" data-paused="true"' in page
    assert 'id="flow-cleanup" data-paused="false"' in page
    assert '<meta http-equiv="refresh"' in page
    assert 'id="alert-rules-link"' in page
    assert alice.get("/console/alerts").status_code == 200


def test_overview_shows_the_last_reconciles_with_drift(alice, sessions):
    counts = {"inserted": 2, "updated": 1, "unchanged": 9, "marked_deleted": 3}
    run_sql(
        sessions,
        "INSERT INTO reconcile_runs (kind, status, dry_run, params, counts, report,"
        " finished_at) VALUES ('full', 'finished', false, '{}', CAST(:c AS jsonb), '{}',"
        " now())",
        c=json.dumps(counts),
    )
    page = alice.get("/console/").get_data(as_text=True)
    row = page.split('id="last-reconcile-full"')[1].split("</tr>")[0]
    assert 'data-class="inserted">inserted 2<' in row
    assert 'data-class="marked_deleted">marked_deleted 3<' in row
    assert "none finished" in page.split('id="last-reconcile-incremental"')[1][:200]


def test_a_public_id_with_a_script_renders_as_text(alice, sessions):
    insert_assets(sessions, [{"public_id": SCRIPT, "folder": SCRIPT, "tags": [SCRIPT]}])
    add_inbox(sessions, 1, "failed", public_id=SCRIPT)
    ids = add_cleanups(sessions, [SCRIPT + "/x"])
    pages = [
        alice.get("/console/assets"),
        alice.get("/console/asset", query_string={"public_id": SCRIPT}),
        alice.get("/console/inbox"),
        alice.get(
            f"/console/inbox/{add_inbox(sessions, 2, 'failed', public_id=SCRIPT)}"
        ),
        alice.get("/console/cleanups"),
        alice.get(f"/console/cleanups/{ids[0]}"),
        alice.get("/console/audit", query_string={"prefix": SCRIPT}),
        alice.get("/console/inbox", query_string={"prefix": SCRIPT}),
    ]
    for answer in pages:
        assert answer.status_code == 200, answer.request.path
        text = answer.get_data(as_text=True)
        assert SCRIPT not in text, answer.request.path
        assert "<script" not in text
    assert html.escape(SCRIPT, quote=False) in pages[1].get_data(as_text=True).replace(
        "&#39;", "'"
    )
    assert "Content-Security-Policy" in pages[0].headers


def test_inbox_filters_and_keyset_pages(alice, sessions):
    shop = [add_inbox(sessions, n, "failed", public_id=f"shop/{n}") for n in range(60)]
    add_inbox(sessions, 100, "failed", public_id="blog/1")
    add_inbox(sessions, 101, "applied", public_id="shop/x")
    add_inbox(sessions, 102, "failed", public_id="shop/y", notification_type="delete")
    first = alice.get("/console/inbox?status=failed&prefix=shop/&type=upload")
    page = first.get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'<tr data-id="([0-9]+)"', page)]
    assert shown == shop[::-1][:50]
    after = re.search(r'id="next-page" rel="next" href="([^"]+)"', page).group(1)
    second = alice.get(html.unescape(after)).get_data(as_text=True)
    shown += [int(i) for i in re.findall(r'<tr data-id="([0-9]+)"', second)]
    assert shown == shop[::-1]
    assert 'id="next-page"' not in second
    assert alice.get("/console/inbox?status=nonsense").status_code == 400
    assert alice.get("/console/inbox?since=yesterday").status_code == 400
    future = alice.get("/console/inbox?since=2999-01-01T00:00").get_data(as_text=True)
    assert 'id="no-rows"' in future


def test_resources_lists_match_the_prefix_filter(alice, sessions):
    body = json.dumps(
        {"notification_type": "delete", "resources": [{"public_id": "gone/1"}]}
    )
    run_sql(
        sessions,
        "INSERT INTO webhook_inbox (digest, notification_type, body, status)"
        " VALUES (md5(:b), 'delete', CAST(:b AS jsonb), 'failed')",
        b=body,
    )
    add_inbox(sessions, 1, "failed", public_id="kept/1")
    page = alice.get("/console/inbox?prefix=gone/").get_data(as_text=True)
    assert len(re.findall(r'<tr data-id="', page)) == 1


def test_an_asset_page_tells_the_story(alice, sessions):
    insert_assets(sessions, [{"public_id": "story/1", "tags": ["a"]}])
    add_inbox(sessions, 1, "applied", public_id="story/1")
    run_sql(
        sessions,
        "UPDATE media_assets SET deleted_at = now() WHERE public_id = 'story/1'",
    )
    page = alice.get("/console/asset?public_id=story/1").get_data(as_text=True)
    kinds = re.findall(r'<tr class="event event-[a-z]+" data-kind="([a-z]+)"', page)
    assert {"webhook", "row", "cleanup"} <= set(kinds)
    assert alice.get("/console/asset?public_id=nothing/here").status_code == 404
    search = alice.get("/console/assets?prefix=story/&status=all").get_data(
        as_text=True
    )
    assert "story/1" in search


def test_assets_search_by_folder_and_tag(alice, sessions):
    insert_assets(
        sessions,
        [
            {"public_id": "p/1", "folder": "f1", "tags": ["red"]},
            {"public_id": "p/2", "folder": "f2", "tags": ["blue"]},
        ],
    )
    by_folder = alice.get("/console/assets?folder=f1").get_data(as_text=True)
    assert "p/1" in by_folder
    assert "p/2" not in by_folder
    by_tag = alice.get("/console/assets?tag=blue").get_data(as_text=True)
    assert "p/2" in by_tag
    assert "p/1" not in by_tag


def test_reconcile_starts_dry_runs_first(alice, sessions):
    answer = alice.post("/console/reconcile", {"kind": "incremental"})
    assert answer.status_code == 302
    ((run_id, dry_run),) = run_sql(sessions, "SELECT id, dry_run FROM reconcile_runs")
    assert dry_run is True
    page = alice.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'id="run-dry-run">yes' in page
    assert 'id="reconcile-confirm"' not in page  # not finished yet
    refused = alice.post(
        "/console/reconcile", {"kind": "incremental", "confirm_run": run_id}
    )
    assert refused.status_code == 409
    run_sql(
        sessions, "UPDATE reconcile_runs SET status = 'finished', finished_at = now()"
    )
    page = alice.get(f"/console/reconcile/{run_id}").get_data(as_text=True)
    assert 'id="reconcile-confirm"' in page
    wrong_kind = alice.post(
        "/console/reconcile", {"kind": "full", "confirm_run": run_id}
    )
    assert wrong_kind.status_code == 409
    real = alice.post(
        "/console/reconcile", {"kind": "incremental", "confirm_run": run_id}
    )
    assert real.status_code == 302
    runs = run_sql(sessions, "SELECT kind, dry_run FROM reconcile_runs ORDER BY id")
    assert runs == [("incremental", True), ("incremental", False)]
    listing = alice.get("/console/reconcile").get_data(as_text=True)
    assert len(re.findall(r'<tr data-id="', listing)) == 2
    starts = run_sql(
        sessions,
        "SELECT details->>'operator', details->>'dry_run' FROM media_sync_log"
        " WHERE operation = 'console.reconcile.start' ORDER BY id",
    )
    assert starts == [("alice", "true"), ("alice", "false")]


def test_a_single_asset_run_needs_its_public_id(alice):
    assert alice.post("/console/reconcile", {"kind": "single"}).status_code == 400
    answer = alice.post("/console/reconcile", {"kind": "single", "public_id": "one/1"})
    assert answer.status_code == 302


def test_the_stylesheet_is_served_without_a_login(browser):
    with browser.client.get("/console/static/console.css") as answer:
        assert answer.status_code == 200
        assert "text/css" in answer.headers["Content-Type"]
