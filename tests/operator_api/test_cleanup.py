"""/api/cleanup: status, sweep, retry-failed, and the pause/resume kill switch."""

import pytest
import redis

from tests.operator_api.conftest import insert_assets, run_sql
from workers.cleanup import drain as cleanup
from workers.cloudinary_client import CloudinaryClient
from workers.operations import cleanup as cleanup_ops
from workers.rate_governor import RateGovernor


def queue_rows(api, sessions, count, prefix="q/", cloud=None):
    """`count` mirror rows (and assets in `cloud`, if given) deleted through the API."""
    ids = [f"{prefix}{n}" for n in range(count)]
    if cloud is not None:
        cloud.client.seed(count=count, prefix=prefix)
        ids = sorted(a["public_id"] for a in cloud.client.assets())
    insert_assets(sessions, [{"public_id": pid} for pid in ids])
    assert api.delete("/api/media?public_ids=" + ",".join(ids)).status_code == 200
    return [
        r[0]
        for r in run_sql(
            sessions, "SELECT id FROM cloudinary_cleanup_queue ORDER BY id"
        )
    ]


def statuses(sessions):
    rows = run_sql(
        sessions, "SELECT status, count(*) FROM cloudinary_cleanup_queue GROUP BY 1"
    )
    return dict(rows)


def test_status_shows_counts_ages_listeners_and_pause(api, sessions):
    ids = queue_rows(api, sessions, 3)
    run_sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET status = 'failed' WHERE id = :id",
        id=ids[0],
    )
    run_sql(
        sessions,
        "INSERT INTO mediasync_heartbeats (name, last_seen, details) VALUES"
        " ('listener:host-1', now() - interval '5 seconds', '{\"host\": \"h\", \"pid\": 1}')",
    )
    body = api.get("/api/cleanup").get_json()
    assert body["counts"]["pending"] == 2
    assert body["counts"]["failed"] == 1
    assert body["oldest_pending_age_s"] >= 0
    assert body["paused"] is False
    assert body["listeners"][0]["name"] == "host-1"
    assert 4 < body["listeners"][0]["age_s"] < 60


def test_pause_stops_the_drain_and_resume_lifts_it(api, sessions, settings, cloud):
    answer = api.post("/api/cleanup/pause", json={"reason": "bad deploy"})
    assert answer.get_json() == {"paused": True, "changed": True}
    queue_rows(api, sessions, 2, cloud=cloud)
    assert api.post("/api/cleanup/pause").get_json()["changed"] is False
    with sessions.begin() as session:
        assert cleanup_ops.is_paused(session)
    state = api.get("/api/cleanup").get_json()
    assert state["paused"] is True
    assert state["pause_reason"] == "bad deploy"
    assert state["paused_by"].startswith("operator-api:")

    # a drain that runs anyway deletes nothing while paused
    client = redis.Redis.from_url(settings.redis_url)
    try:
        report = cleanup.drain(
            sessions,
            CloudinaryClient(settings.account, timeout=5),
            RateGovernor(client, settings.account.cloud_name),
            holder="test",
        )
    finally:
        client.close()
    assert report.paused
    assert statuses(sessions) == {"pending": 2}
    assert cloud.client.counters().get("delete_resources", 0) == 0
    assert cloud.client.count_assets() == 2
    # and the sweep sends no drain
    swept = api.post("/api/cleanup/sweep").get_json()
    assert (swept["paused"], swept["due"], swept["drains"]) == (True, 2, 0)

    resumed = api.post("/api/cleanup/resume").get_json()
    assert resumed == {"paused": False, "changed": True, "drains": 1, "enqueued": True}
    with sessions.begin() as session:
        assert not cleanup_ops.is_paused(session)
    assert api.post("/api/cleanup/resume").get_json()["changed"] is False


def test_sweep_enqueues_drains_for_due_rows(api, sessions):
    queue_rows(api, sessions, 3)
    swept = api.post("/api/cleanup/sweep").get_json()
    assert swept == {
        "reclaimed": 0,
        "dead_lettered": 0,
        "due": 3,
        "paused": False,
        "drains": 1,
        "enqueued": True,
    }


def test_retry_failed_takes_all_or_some_ids(api, sessions):
    ids = queue_rows(api, sessions, 3)
    run_sql(
        sessions, "UPDATE cloudinary_cleanup_queue SET status = 'failed', attempts = 8"
    )
    some = api.post("/api/cleanup/retry-failed", json={"ids": [ids[1]]})
    assert some.get_json() == {"retried": [ids[1]], "drains": 1, "enqueued": True}
    assert statuses(sessions) == {"pending": 1, "failed": 2}
    every = api.post("/api/cleanup/retry-failed")
    assert every.get_json()["retried"] == [ids[0], ids[2]]
    assert statuses(sessions) == {"pending": 3}


def test_retry_failed_with_an_unknown_id_is_404_and_requeues_nothing(api, sessions):
    ids = queue_rows(api, sessions, 2)
    run_sql(sessions, "UPDATE cloudinary_cleanup_queue SET status = 'failed'")

    answer = api.post("/api/cleanup/retry-failed", json={"ids": [ids[0], 999999]})

    assert answer.status_code == 404
    assert "no cleanup queue row with id 999999" in answer.get_json()["error"]
    assert statuses(sessions) == {"failed": 2}


def test_retry_failed_with_a_row_that_has_not_failed_is_409(api, sessions):
    ids = queue_rows(api, sessions, 2)
    run_sql(
        sessions,
        f"UPDATE cloudinary_cleanup_queue SET status = 'failed' WHERE id = {ids[0]}",
    )

    answer = api.post("/api/cleanup/retry-failed", json={"ids": ids})

    assert answer.status_code == 409
    assert f"row {ids[1]} is pending, not failed" in answer.get_json()["error"]
    assert statuses(sessions) == {"failed": 1, "pending": 1}


@pytest.mark.parametrize(
    "body", [{"ids": []}, {"ids": "1,2"}, {"ids": [1, "2"]}, {"ids": [True]}]
)
def test_retry_failed_refuses_bad_ids_rather_than_retrying_everything(
    api, sessions, body
):
    queue_rows(api, sessions, 1)
    run_sql(sessions, "UPDATE cloudinary_cleanup_queue SET status = 'failed'")
    answer = api.post("/api/cleanup/retry-failed", json=body)
    assert answer.status_code == 400
    assert statuses(sessions) == {"failed": 1}


def test_pause_reason_must_be_text(api, sessions):
    assert api.post("/api/cleanup/pause", json={"reason": 5}).status_code == 400
    with sessions.begin() as session:
        assert not cleanup_ops.is_paused(session)


# -- decisions on held deletes: release, restore, adopt ----------------------------------


def hold_all(sessions, reason="breaker: test"):
    run_sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET status = 'held', held_reason = :r",
        r=reason,
    )


def test_release_sends_the_chosen_held_rows_audited_with_the_requester(api, sessions):
    ids = queue_rows(api, sessions, 3)
    hold_all(sessions)
    run_sql(sessions, "UPDATE mediasync_delete_breaker SET tripped_at = now()")
    assert api.get("/api/cleanup").get_json()["breaker"]["tripped"] is True

    answer = api.post("/api/cleanup/release", json={"ids": ids[:2]})

    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["released"], body["breaker_reset"], body["drains"]) == (
        ids[:2],
        False,
        1,
    )
    assert statuses(sessions) == {"pending": 2, "held": 1}
    (logged,) = run_sql(
        sessions,
        "SELECT details FROM media_sync_log WHERE operation = 'cleanup.release'",
    )
    assert logged[0]["by"].startswith("operator-api:")
    assert logged[0]["queue_ids"] == ids[:2]

    rest = api.post("/api/cleanup/release", json={"all": True}).get_json()
    assert (rest["released"], rest["breaker_reset"]) == ([ids[2]], True)
    status = api.get("/api/cleanup").get_json()
    assert status["breaker"]["tripped"] is False
    assert status["counts"]["held"] == 0


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        {"all": False},
        {"all": "yes"},
        {"ids": []},
        {"ids": [1], "prefix": "q/"},
        {"prefix": 3},
        {"before": "last week"},
        {"after": 12},
        {"every": True},
    ],
)
def test_release_refuses_a_malformed_or_empty_selection(api, sessions, body):
    queue_rows(api, sessions, 1)
    hold_all(sessions)
    answer = api.post("/api/cleanup/release", json=body)
    assert answer.status_code == 400
    assert answer.get_json()["error"]
    assert statuses(sessions) == {"held": 1}


def test_unknown_ids_are_404_and_rows_in_another_state_409(api, sessions):
    ids = queue_rows(api, sessions, 2)
    hold_all(sessions)
    run_sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET status = 'completed' WHERE id = :i",
        i=ids[1],
    )

    unknown = api.post("/api/cleanup/restore", json={"ids": [ids[0], 777777]})
    assert unknown.status_code == 404
    assert "777777" in unknown.get_json()["error"]
    wrong = api.post("/api/cleanup/release", json={"ids": ids})
    assert wrong.status_code == 409
    assert f"{ids[1]} is completed" in wrong.get_json()["error"]
    assert statuses(sessions) == {"held": 1, "completed": 1}


def test_restore_undeletes_soft_deletes_and_recreates_hard_ones_from_cloudinary(
    api, sessions, cloud
):
    queue_rows(api, sessions, 2, prefix="soft/")  # soft-deleted through the API
    cloud.client.seed(count=2, prefix="hard/")
    hard = sorted(a["public_id"] for a in cloud.client.assets())
    insert_assets(sessions, [{"public_id": pid} for pid in hard])
    run_sql(sessions, "DELETE FROM media_assets WHERE public_id LIKE 'hard/%'")
    hold_all(sessions)

    answer = api.post("/api/cleanup/restore", json={"all": True})

    assert answer.status_code == 200
    body = answer.get_json()
    assert (
        body["restored_soft"],
        body["recreated"],
        body["missing"],
        body["left"],
    ) == (
        2,
        2,
        0,
        0,
    )
    assert body["count"] == 4
    assert statuses(sessions) == {"cancelled": 4}
    live = run_sql(
        sessions,
        "SELECT public_id, asset_id FROM media_assets WHERE deleted_at IS NULL"
        " ORDER BY public_id",
    )
    assert [r[0] for r in live] == [*hard, "soft/0", "soft/1"]
    # the re-created rows carry Cloudinary's asset_id, not the old mirror's
    assert {r[1] for r in live[:2]} == {
        cloud.client.asset("image", "upload", pid)["asset_id"] for pid in hard
    }
    (logged,) = run_sql(
        sessions,
        "SELECT details FROM media_sync_log WHERE operation = 'cleanup.restore'",
    )
    assert logged[0]["recreated"] == 2


def test_adopt_records_this_database_and_requeues_the_identity_holds(api, sessions):
    ids = queue_rows(api, sessions, 2)
    hold_all(sessions, "database: a copy")
    run_sql(sessions, "UPDATE mediasync_database_identity SET database_oid = 1")
    assert api.get("/api/cleanup").get_json()["identity"]["matches"] is False

    answer = api.post("/api/cleanup/adopt")

    assert answer.status_code == 200
    body = answer.get_json()
    assert body["requeued"] == ids
    assert body["cloud_name"] == "ops-tests"
    identity = api.get("/api/cleanup").get_json()["identity"]
    assert identity["matches"] is True
    assert identity["adopted_by"].startswith("operator-api:")
    assert statuses(sessions) == {"pending": 2}


def test_status_shows_the_scope_and_delay_of_the_settings(api):
    body = api.get("/api/cleanup").get_json()
    assert (body["scope"], body["delay_s"]) == ("every asset", 0)
    assert set(body["counts"]) >= {"held", "cancelled"}
