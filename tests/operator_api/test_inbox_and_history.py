"""GET /api/inbox, POST /api/inbox/<id>/retry and GET /api/assets/<public_id>/history."""

import dataclasses
import json

import pytest

from tests.operator_api.conftest import AUTH, insert_assets, run_sql
from tests.webhook_receiver.helpers import receiver_app


def add_inbox(sessions, n, status, public_id="inbox/a"):
    body = json.dumps({"notification_type": "upload", "public_id": public_id, "n": n})
    rows = run_sql(
        sessions,
        "INSERT INTO webhook_inbox (digest, notification_type, body, status, attempts,"
        " last_error) VALUES (md5(:body), 'upload', CAST(:body AS jsonb), :status,"
        " CASE WHEN :status = 'failed' THEN 5 ELSE 0 END,"
        " CASE WHEN :status = 'failed' THEN 'KeyError: boom' END) RETURNING id",
        body=body,
        status=status,
    )
    return rows[0][0]


def test_lists_failed_rows_by_default_with_their_error(api, sessions):
    failed = [add_inbox(sessions, n, "failed") for n in range(3)]
    add_inbox(sessions, 10, "applied")
    answer = api.get("/api/inbox")
    assert answer.status_code == 200
    items = answer.get_json()["items"]
    assert [i["id"] for i in items] == failed[::-1]
    assert items[0]["last_error"] == "KeyError: boom"
    assert items[0]["body"]["public_id"] == "inbox/a"
    assert len(api.get("/api/inbox?status=all").get_json()["items"]) == 4
    assert len(api.get("/api/inbox?status=applied").get_json()["items"]) == 1


def test_inbox_pages_like_media(api, sessions):
    ids = [add_inbox(sessions, n, "failed") for n in range(7)]
    first = api.get("/api/inbox?limit=4").get_json()
    second = api.get(f"/api/inbox?limit=4&cursor={first['next_cursor']}").get_json()
    assert [i["id"] for i in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None


@pytest.mark.parametrize("query", ["status=broken", "limit=501", "cursor=%%%"])
def test_inbox_bad_parameters_are_400(api, query):
    assert api.get(f"/api/inbox?{query}").status_code == 400


def test_retry_puts_a_failed_row_back_to_pending(api, sessions):
    inbox_id = add_inbox(sessions, 1, "failed")
    answer = api.post(f"/api/inbox/{inbox_id}/retry")
    assert answer.status_code == 202
    assert answer.get_json() == {"id": inbox_id, "status": "pending", "enqueued": True}
    assert run_sql(
        sessions,
        "SELECT status, attempts FROM webhook_inbox WHERE id = :id",
        id=inbox_id,
    ) == [("pending", 0)]


def test_retry_of_an_unknown_or_unfailed_row_is_refused(api, sessions):
    applied = add_inbox(sessions, 1, "applied")
    assert api.post("/api/inbox/999999/retry").status_code == 404
    conflict = api.post(f"/api/inbox/{applied}/retry")
    assert conflict.status_code == 409
    assert "applied" in conflict.get_json()["error"]


def test_history_tells_an_assets_story_and_404s_the_unknown(api, sessions):
    insert_assets(sessions, [{"public_id": "story/with/slashes"}])
    add_inbox(sessions, 1, "failed", public_id="story/with/slashes")
    api.delete("/api/media?public_ids=story/with/slashes")
    answer = api.get("/api/assets/story/with/slashes/history")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["public_id"] == "story/with/slashes"
    kinds = [event["kind"] for event in body["events"]]
    assert {"webhook", "row", "cleanup", "log"} <= set(kinds)
    assert all({"at", "kind", "summary", "details"} <= set(e) for e in body["events"])
    missing = api.get("/api/assets/nobody/knows/history")
    assert missing.status_code == 404
    assert missing.get_json()["error"]


def test_a_broker_outage_after_the_commit_still_answers(settings, sessions):
    inbox_id = add_inbox(sessions, 1, "failed")
    down = dataclasses.replace(settings, broker_url="redis://127.0.0.1:1/0")
    with receiver_app(down) as app:
        answer = app.test_client().post(f"/api/inbox/{inbox_id}/retry", headers=AUTH)
        sync = app.test_client().post("/api/sync", json={"full": True}, headers=AUTH)
    assert answer.status_code == 202
    assert answer.get_json()["enqueued"] is False
    # committed all the same: the beat sweeps find both
    assert run_sql(
        sessions, "SELECT status FROM webhook_inbox WHERE id = :id", id=inbox_id
    ) == [("pending",)]
    assert sync.status_code == 202
    assert sync.get_json()["enqueued"] is False
    assert run_sql(sessions, "SELECT kind FROM reconcile_runs") == [("full",)]


def test_inbox_filters_by_type_prefix_and_time(api, sessions):
    wanted = add_inbox(sessions, 1, "failed", public_id="shop/1")
    add_inbox(sessions, 2, "failed", public_id="blog/1")
    items = api.get("/api/inbox?prefix=shop/&type=upload").get_json()["items"]
    assert [i["id"] for i in items] == [wanted]
    assert api.get("/api/inbox?type=delete").get_json()["items"] == []
    assert api.get("/api/inbox?since=2999-01-01T00:00:00").get_json()["items"] == []
    assert len(api.get("/api/inbox?until=2999-01-01").get_json()["items"]) == 2
    assert api.get("/api/inbox?since=someday").status_code == 400
