"""What an operator does from the console, and the audit entries naming them: retry one
row, bulk retry by filter with its preview count, pause and resume a flow."""

from __future__ import annotations

import re

from tests.console.conftest import number
from tests.console.helpers import add_cleanups, add_inbox, set_cleanup_status
from tests.operator_api.conftest import run_sql


def audit(sessions, operation):
    return run_sql(
        sessions,
        "SELECT details->>'operator', status, details FROM media_sync_log"
        " WHERE operation = :op ORDER BY id",
        op=operation,
    )


def test_a_failed_cleanup_is_retried(alice, sessions):
    (queue_id,) = add_cleanups(sessions, ["retry/1"])
    set_cleanup_status(sessions, [queue_id], "failed")
    listing = alice.get("/console/cleanups?status=failed").get_data(as_text=True)
    assert f'<tr data-id="{queue_id}" data-status="failed">' in listing
    page = alice.get(f"/console/cleanups/{queue_id}").get_data(as_text=True)
    assert "Cloudinary said 500" in page
    answer = alice.post(f"/console/cleanups/{queue_id}/retry")
    assert answer.status_code == 302
    done = alice.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'id="action-result"' in done
    assert 'id="row-status">pending<' in done
    assert run_sql(
        sessions,
        "SELECT status, attempts FROM cloudinary_cleanup_queue WHERE id = :id",
        id=queue_id,
    ) == [("pending", 0)]
    ((operator, status, details),) = audit(sessions, "console.cleanup.retry")
    assert (operator, status, details["queue_id"], details["kind"]) == (
        "alice",
        "done",
        queue_id,
        "admin",
    )
    # retrying it again: it has not failed any more
    assert alice.post(f"/console/cleanups/{queue_id}/retry").status_code == 409
    assert alice.post("/console/cleanups/999999/retry").status_code == 404
    assert len(audit(sessions, "console.cleanup.retry")) == 1


def test_a_failed_inbox_row_is_retried(alice, sessions):
    inbox_id = add_inbox(sessions, 1, "failed")
    applied = add_inbox(sessions, 2, "applied")
    page = alice.get(f"/console/inbox/{inbox_id}").get_data(as_text=True)
    assert "KeyError: boom" in page
    assert 'id="payload"' in page
    assert alice.post(f"/console/inbox/{inbox_id}/retry").status_code == 302
    assert run_sql(
        sessions, "SELECT status FROM webhook_inbox WHERE id = :id", id=inbox_id
    ) == [("pending",)]
    assert alice.post(f"/console/inbox/{applied}/retry").status_code == 409
    ((operator, _, details),) = audit(sessions, "console.inbox.retry")
    assert operator == "alice"
    assert details["inbox_id"] == inbox_id


def test_bulk_replay_of_50_failed_inbox_rows_chosen_by_filter(alice, sessions):
    chosen = [
        add_inbox(sessions, n, "failed", public_id=f"replay/{n}") for n in range(50)
    ]
    others = [
        add_inbox(sessions, 100 + n, "failed", public_id=f"other/{n}") for n in range(7)
    ]
    applied = [
        add_inbox(sessions, 200 + n, "applied", public_id=f"replay/a{n}")
        for n in range(3)
    ]
    preview = alice.get("/console/inbox/bulk?prefix=replay/&status=failed")
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert number(page, "bulk-count") == 50
    # nothing changed by looking
    assert run_sql(
        sessions, "SELECT count(*) FROM webhook_inbox WHERE status = 'failed'"
    ) == [(57,)]
    # a row that fails after the preview is not part of what was confirmed
    late = add_inbox(sessions, 300, "failed", public_id="replay/late")
    form = dict(
        re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', page)
    )
    assert form["prefix"] == "replay/"
    assert form["expected"] == "50"
    result = alice.post("/console/inbox/bulk", form)
    assert result.status_code == 200
    text = result.get_data(as_text=True)
    assert 'id="bulk-result-count" data-count="50"' in text
    statuses = dict(run_sql(sessions, "SELECT id, status FROM webhook_inbox"))
    assert {statuses[i] for i in chosen} == {"pending"}
    assert {statuses[i] for i in others} == {"failed"}
    assert {statuses[i] for i in applied} == {"applied"}
    assert statuses[late] == "failed"
    ((operator, status, details),) = audit(sessions, "console.inbox.bulk_retry")
    assert (operator, status, details["count"]) == ("alice", "done", 50)
    assert details["filter"] == {"prefix": "replay/", "status": "failed"}


def test_bulk_retry_of_failed_cleanups(alice, sessions):
    ids = add_cleanups(sessions, [f"bulk/{n}" for n in range(5)] + ["keep/1"])
    set_cleanup_status(sessions, ids, "failed")
    page = alice.get("/console/cleanups/bulk?prefix=bulk/").get_data(as_text=True)
    assert number(page, "bulk-count") == 5
    form = dict(
        re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', page)
    )
    text = alice.post("/console/cleanups/bulk", form).get_data(as_text=True)
    assert 'data-count="5"' in text
    assert dict(
        run_sql(
            sessions, "SELECT status, count(*) FROM cloudinary_cleanup_queue GROUP BY 1"
        )
    ) == {"pending": 5, "failed": 1}
    ((operator, _, details),) = audit(sessions, "console.cleanup.bulk_retry")
    assert operator == "alice"
    assert details["count"] == 5


def test_a_bulk_preview_with_nothing_to_do_offers_no_button(alice, sessions):
    add_inbox(sessions, 1, "applied")
    page = alice.get("/console/inbox/bulk").get_data(as_text=True)
    assert 'data-count="0"' in page
    assert 'id="bulk-confirm"' not in page


def test_pause_and_resume_a_flow_are_audited_with_the_operator(alice, sessions):
    answer = alice.post("/console/flows/cleanup/pause", {"reason": "bad deploy"})
    assert answer.status_code == 302
    assert run_sql(
        sessions, "SELECT flow, paused_by, reason FROM mediasync_pauses"
    ) == [("cleanup", "console:alice", "bad deploy")]
    page = alice.get("/console/").get_data(as_text=True)
    assert 'id="flow-cleanup" data-paused="true"' in page
    assert alice.post("/console/flows/cleanup/resume").status_code == 302
    assert alice.post("/console/flows/reconcile/pause").status_code == 302
    assert alice.post("/console/flows/nonsense/pause").status_code == 404
    assert run_sql(sessions, "SELECT flow FROM mediasync_pauses") == [("reconcile",)]
    entries = run_sql(
        sessions,
        "SELECT operation, details->>'operator', details->>'flow' FROM media_sync_log"
        " WHERE operation LIKE 'console.flow.%' ORDER BY id",
    )
    assert entries == [
        ("console.flow.pause", "alice", "cleanup"),
        ("console.flow.resume", "alice", "cleanup"),
        ("console.flow.pause", "alice", "reconcile"),
    ]
    audit_page = alice.get("/console/audit?operator=alice&operation=console.flow")
    rows = re.findall(
        r'<td class="operator">([^<]*)</td>', audit_page.get_data(as_text=True)
    )
    assert rows == ["alice", "alice", "alice"]


def test_a_login_is_audited_with_the_operator(alice, sessions):
    ((operator, status, details),) = audit(sessions, "console.login")
    assert (operator, status, details["kind"]) == ("alice", "done", "admin")
