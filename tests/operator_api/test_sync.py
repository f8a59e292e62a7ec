"""GET/POST /api/sync and GET /api/sync/<id> (no worker here: the run stays recorded)."""

import pytest

from tests.operator_api.conftest import run_sql


def test_starting_a_run_records_it_and_answers_its_id(api, sessions):
    answer = api.post("/api/sync", json={"full": True, "dry_run": True})
    assert answer.status_code == 202
    body = answer.get_json()
    assert body["kind"] == "full"
    assert body["created"] is True
    assert body["enqueued"] is True
    run_id = body["id"]
    assert run_sql(
        sessions,
        "SELECT kind, status, dry_run FROM reconcile_runs WHERE id = :id",
        id=run_id,
    ) == [("full", "running", True)]

    progress = api.get(f"/api/sync/{run_id}").get_json()
    assert progress["run_id"] == run_id
    assert progress["status"] == "running"
    assert "inserted" in progress["counts"]

    listing = api.get("/api/sync").get_json()
    assert listing["running"] is True
    assert [r["run_id"] for r in listing["runs"]] == [run_id]
    assert listing["active"][0]["run_id"] == run_id


def test_kinds_follow_the_body(api):
    single = api.post("/api/sync", json={"public_id": "a/b", "type": "private"})
    assert single.get_json()["kind"] == "single"
    incremental = api.post("/api/sync")
    assert incremental.get_json()["kind"] == "incremental"
    # a second writing incremental run finds the unfinished one
    again = api.post("/api/sync", json={})
    assert again.get_json()["id"] == incremental.get_json()["id"]
    assert again.get_json()["created"] is False


def test_finished_runs_show_when_nothing_is_running(api, sessions):
    run_sql(
        sessions,
        "INSERT INTO reconcile_runs (kind, status, finished_at) VALUES"
        " ('full', 'finished', now())",
    )
    listing = api.get("/api/sync").get_json()
    assert listing["running"] is False
    assert listing["runs"][0]["status"] == "finished"
    assert listing["runs"][0]["finished_at"]


@pytest.mark.parametrize(
    "body",
    [
        {"full": "yes"},
        {"dry_run": 1},
        {"full": True, "public_id": "a"},
        {"public_id": ""},
        {"public_id": 5},
        [1, 2],
        "text",
    ],
)
def test_bad_bodies_are_400(api, body, sessions):
    answer = api.post("/api/sync", json=body)
    assert answer.status_code == 400
    assert answer.get_json()["error"]
    assert run_sql(sessions, "SELECT count(*) FROM reconcile_runs") == [(0,)]


def test_a_body_that_is_not_json_is_400(api):
    answer = api.post("/api/sync", data="{", content_type="application/json")
    assert answer.status_code == 400


def test_unknown_run_is_404(api):
    assert api.get("/api/sync/424242").status_code == 404
    assert api.get("/api/sync?limit=101").status_code == 400
