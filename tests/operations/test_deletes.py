"""workers/operations/deletes.py: the operator's release, restore and adopt of held deletes.

Rows are held here with plain SQL (the breaker's own logic is tested in
tests/cleanup/test_guardrails.py); Cloudinary is the emulator, through the real SDK.
"""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.cleanup.conftest import queue_statuses
from workers.config import DeleteScope
from workers.operations import cleanup as cleanup_ops
from workers.operations import deletes
from workers.operations.deletes import Selection
from workers.reconcile import driver as reconcile

ALL = Selection(every=True)
# the fields a reconcile compares, and the ones it writes along
MIRRORED = (
    "asset_id, public_id, resource_type, delivery_type, version, format, bytes, width,"
    " height, duration, folder, display_name, tags, context, metadata, secure_url,"
    " cloudinary_created_at, sync_status, deleted_at, stamps"
)


def sql(sessions, statement, **params):
    with sessions.begin() as session:
        result = session.execute(text(statement), params)
        return result.all() if result.returns_rows else None


def queue_held(sessions, public_ids, how="hard"):
    """Mirror rows for `public_ids`, deleted (hard or soft) and their cleanups held."""
    sql(
        sessions,
        "INSERT INTO media_assets (public_id, asset_id) SELECT p, md5(p)"
        " FROM unnest(CAST(:pids AS text[])) p",
        pids=public_ids,
    )
    delete = (
        "DELETE FROM media_assets"
        if how == "hard"
        else "UPDATE media_assets SET deleted_at = now()"
    )
    sql(sessions, f"{delete} WHERE public_id = ANY(:pids)", pids=public_ids)
    hold(sessions)
    return [
        r[0]
        for r in sql(
            sessions,
            "SELECT id FROM cloudinary_cleanup_queue WHERE public_id = ANY(:pids)"
            " ORDER BY id",
            pids=public_ids,
        )
    ]


def hold(sessions, reason="breaker: test"):
    sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET status = 'held', held_reason = :reason"
        " WHERE status = 'pending'",
        reason=reason,
    )


def trip(sessions):
    sql(
        sessions,
        "UPDATE mediasync_delete_breaker SET tripped_at = now(),"
        ' details = \'{"queued": 900, "limit": 100}\'',
    )


def tripped(sessions):
    return sql(sessions, "SELECT tripped_at IS NOT NULL FROM mediasync_delete_breaker")[
        0
    ][0]


def queue_rows(sessions):
    rows = sql(
        sessions,
        "SELECT id, status, held_reason, released_by, released_at IS NOT NULL,"
        " last_error FROM cloudinary_cleanup_queue ORDER BY id",
    )
    return {r[0]: r[1:] for r in rows}


def audit(sessions, operation):
    return [
        r[0]
        for r in sql(
            sessions,
            "SELECT details FROM media_sync_log WHERE operation = :op"
            " AND status = 'ok' AND source = 'operator' ORDER BY id",
            op=operation,
        )
    ]


def test_release_sends_the_chosen_rows_and_closes_the_breaker_once_none_is_held(
    sessions,
):
    ids = queue_held(sessions, ["r/1", "r/2", "r/3"])
    trip(sessions)

    with sessions.begin() as session:
        first = deletes.release(session, Selection(ids=(ids[0], ids[1])), by="alice")

    assert first.ids == ids[:2]
    assert not first.breaker_reset  # one row is still held
    assert tripped(sessions)
    rows = queue_rows(sessions)
    assert rows[ids[0]][:4] == ("pending", None, "alice", True)
    assert rows[ids[2]][:2] == ("held", "breaker: test")
    with sessions.begin() as session:
        due = session.execute(
            text(
                "SELECT count(*) FROM cloudinary_cleanup_queue"
                " WHERE status = 'pending' AND next_attempt_at <= now()"
            )
        ).scalar_one()
    assert due == 2

    with sessions.begin() as session:
        second = deletes.release(session, ALL, by="bob")

    assert (second.ids, second.breaker_reset) == ([ids[2]], True)
    assert not tripped(sessions)
    logged = audit(sessions, "cleanup.release")
    assert [entry["by"] for entry in logged] == ["alice", "bob"]
    assert logged[0]["count"] == 2
    assert logged[0]["queue_ids"] == ids[:2]
    assert logged[0]["sample_public_ids"] == ["r/1", "r/2"]
    assert logged[0]["selection"]["ids"] == ids[:2]
    assert logged[1]["selection"]["every"] is True


def test_a_prefix_and_a_time_window_select_only_held_rows_queued_then(sessions):
    ids = queue_held(sessions, ["shop/1", "shop/2", "blog/1", "shop/3"])
    sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET created_at = now() - interval '2 hours'"
        " WHERE id = :id",
        id=ids[0],
    )
    sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET status = 'failed' WHERE id = :id",
        id=ids[3],
    )
    hour_ago = datetime.now(UTC) - timedelta(hours=1)

    with sessions.begin() as session:
        recent = deletes.release(
            session, Selection(prefix="shop/", after=hour_ago), by="op"
        )
    with sessions.begin() as session:
        older = deletes.release(session, Selection(before=hour_ago), by="op")

    assert recent.ids == [ids[1]]  # shop/3 is failed, not held; blog/1 another prefix
    assert older.ids == [ids[0]]
    assert queue_rows(sessions)[ids[2]][0] == "held"


def test_unknown_ids_and_rows_not_held_are_named_and_nothing_changes(sessions):
    ids = queue_held(sessions, ["e/1", "e/2"])
    sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET status = 'completed' WHERE id = :id",
        id=ids[1],
    )

    with sessions.begin() as session, pytest.raises(deletes.UnknownIds) as unknown:
        deletes.release(session, Selection(ids=(ids[0], 999_999)), by="op")
    assert unknown.value.ids == [999_999]
    assert "999999" in str(unknown.value)

    with sessions.begin() as session, pytest.raises(deletes.WrongStates) as wrong:
        deletes.release(session, Selection(ids=tuple(ids)), by="op")
    assert wrong.value.states == {ids[1]: "completed"}
    assert f"{ids[1]} is completed" in str(wrong.value)

    assert queue_rows(sessions)[ids[0]][0] == "held"  # all or nothing
    assert audit(sessions, "cleanup.release") == []


@pytest.mark.parametrize(
    "given",
    [
        {},
        {"every": True, "ids": (1,)},
        {"every": True, "prefix": "a/"},
        {"ids": (1,), "prefix": "a/"},
        {"ids": (0,)},
        {"prefix": ""},
    ],
)
def test_an_empty_or_contradictory_selection_is_refused(given):
    with pytest.raises(deletes.BadSelection):
        Selection(**given)


def test_times_are_iso_8601_and_utc_when_no_zone_is_given():
    assert deletes.parse_time("2024-05-01T10:00:00") == datetime(
        2024, 5, 1, 10, tzinfo=UTC
    )
    assert deletes.parse_time("2024-05-01T12:00:00+02:00") == datetime(
        2024, 5, 1, 10, tzinfo=UTC
    )
    with pytest.raises(deletes.BadSelection, match="yesterday"):
        deletes.parse_time("yesterday")


def test_restore_brings_soft_deleted_rows_back_and_cancels_their_cleanups(
    sessions, cloudinary, governor, cloud
):
    ids = queue_held(sessions, ["s/1", "s/2"], how="soft")
    trip(sessions)

    with sessions.begin() as session:
        result = deletes.restore(session, ALL, "carol", cloudinary, governor)

    assert (result.restored_soft, result.recreated, result.missing, result.left) == (
        2,
        0,
        0,
        0,
    )
    assert result.ids == ids
    assert result.breaker_reset
    live = sql(sessions, "SELECT public_id FROM media_assets WHERE deleted_at IS NULL")
    assert sorted(r[0] for r in live) == ["s/1", "s/2"]
    assert queue_statuses(sessions) == {"cancelled": 2}
    assert queue_rows(sessions)[ids[0]][4] == "restored by carol"
    assert cloud.client.counters().get("list_resources", 0) == 0  # no call needed
    (logged,) = audit(sessions, "cleanup.restore")
    assert (logged["by"], logged["restored_soft"], logged["count"]) == ("carol", 2, 2)


def test_restore_takes_pending_rows_by_id_too_but_not_finished_ones(
    sessions, cloudinary, governor
):
    ids = queue_held(sessions, ["p/1", "p/2"], how="soft")
    sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET status = 'pending' WHERE id = :id",
        id=ids[0],
    )
    sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET status = 'completed' WHERE id = :id",
        id=ids[1],
    )
    with sessions.begin() as session, pytest.raises(deletes.WrongStates):
        deletes.restore(session, Selection(ids=tuple(ids)), "op", cloudinary, governor)

    with sessions.begin() as session:
        result = deletes.restore(
            session, Selection(ids=(ids[0],)), "op", cloudinary, governor
        )
    assert (result.ids, result.restored_soft) == ([ids[0]], 1)


def fill_mirror_from_cloud(cloud, sessions, cloudinary, governor):
    """Assets in the emulator, and the mirror a full reconcile makes of them."""
    cloud.client.seed(count=4, prefix="h/", tags=["shop"])
    cloud.client.seed(count=1, prefix="v/", resource_type="video")
    report = run_full_reconcile(sessions, cloudinary, governor)
    assert report.counts["inserted"] == 5
    return snapshot(sessions)


def run_full_reconcile(sessions, cloudinary, governor):
    limits = reconcile.Limits()
    with sessions.begin() as session:
        run_id, _ = reconcile.start(session, "full", limits)
    report = reconcile.execute(sessions, run_id, cloudinary, governor, limits)
    assert report.status == "finished", report
    return report


def snapshot(sessions):
    rows = sql(
        sessions,
        f"SELECT {MIRRORED} FROM media_assets WHERE deleted_at IS NULL"
        " ORDER BY public_id",
    )
    return {row[1]: row for row in rows}


def test_restore_recreates_hard_deleted_rows_from_cloudinary_as_a_reconcile_would(
    cloud, sessions, cloudinary, governor
):
    before = fill_mirror_from_cloud(cloud, sessions, cloudinary, governor)
    h0, h1, h2, h3, v0 = sorted(before)
    sql(
        sessions,
        "DELETE FROM media_assets WHERE public_id = ANY(:p)",
        p=[h0, h1, h2, v0],
    )
    sql(
        sessions,
        "UPDATE media_assets SET deleted_at = now() WHERE public_id = :p",
        p=h3,
    )
    hold(sessions)
    cloudinary.delete_resources([h2], "image", "upload")  # deleted in Cloudinary too
    cloud.client.reset_counters()

    with sessions.begin() as session:
        result = deletes.restore(session, ALL, "dave", cloudinary, governor)

    assert (result.restored_soft, result.recreated, result.missing, result.left) == (
        1,
        3,
        1,
        0,
    )
    # one Admin call per resource type (≤ 100 public_ids each)
    assert cloud.client.counters()["list_resources"] == 2
    after = snapshot(sessions)
    assert set(after) == {h0, h1, h3, v0}
    for public_id in (h0, h1, h3, v0):
        assert after[public_id] == before[public_id], public_id
    statuses = dict(
        sql(sessions, "SELECT public_id, status FROM cloudinary_cleanup_queue")
    )
    assert set(statuses.values()) == {"cancelled"}
    (note,) = sql(
        sessions,
        "SELECT last_error FROM cloudinary_cleanup_queue WHERE public_id = :p",
        p=h2,
    )[0]
    assert "no longer has this asset" in note

    again = run_full_reconcile(sessions, cloudinary, governor)
    for name in ("inserted", "updated", "requeued_cleanup", "marked_deleted"):
        assert again.counts[name] == 0, (name, again.counts)
    assert snapshot(sessions) == after


def test_restore_never_spends_past_the_budget_and_leaves_the_rest_held(
    cloud, sessions, cloudinary, governor
):
    cloud.client.seed(count=1, prefix="img/")
    cloud.client.seed(count=1, prefix="raw/", resource_type="raw")
    (image,) = [a["public_id"] for a in cloud.client.assets(resource_type="image")]
    (raw,) = [a["public_id"] for a in cloud.client.assets(resource_type="raw")]
    ids = queue_held(sessions, [image])
    sql(
        sessions,
        "INSERT INTO media_assets (public_id, resource_type) VALUES (:p, 'raw')",
        p=raw,
    )
    sql(sessions, "DELETE FROM media_assets WHERE public_id = :p", p=raw)
    hold(sessions)
    raw_id = max(queue_rows(sessions))
    # 11 calls left of 100, the reserve is 10: one call may be made, not two
    cloud.client.set_rate_limit(100, remaining=11, reset_in=600)
    cloud.client.reset_counters()

    with sessions.begin() as session:
        result = deletes.restore(session, ALL, "erin", cloudinary, governor)

    assert cloud.client.counters()["list_resources"] == 1
    assert (result.recreated, result.left) == (1, 1)
    assert "reserve" in result.stopped
    assert not result.breaker_reset
    rows = queue_rows(sessions)
    assert rows[ids[0]][0] == "cancelled"
    assert rows[raw_id][0] == "held"
    assert rows[raw_id][1].startswith(deletes.RESTORE_HOLD)


def test_adopt_records_this_database_and_sends_only_the_identity_holds(
    sessions, settings, account
):
    settings = replace(settings, cloudinary=account)  # cloud name "tests"
    ids = queue_held(sessions, ["a/1", "a/2"])
    sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET held_reason = 'database: a copy'"
        " WHERE id = :id",
        id=ids[0],
    )
    sql(
        sessions,
        "UPDATE mediasync_database_identity SET database_oid = 1,"
        " database_name = 'the_original', cloud_name = 'elsewhere'",
    )
    with sessions.begin() as session:
        assert cleanup_ops.status(session).identity["matches"] is False
    sql(
        sessions,
        "UPDATE mediasync_database_identity SET database_oid = d.oid,"
        " database_name = d.datname FROM pg_database d"
        " WHERE d.datname = current_database()",
    )
    with sessions.begin() as session:  # the same database, deleting in another cloud
        assert cleanup_ops.status(session, settings).identity["matches"] is False
        assert cleanup_ops.status(session).identity["matches"] is True
    sql(sessions, "UPDATE mediasync_database_identity SET database_oid = 1")

    with sessions.begin() as session:
        adopted = deletes.adopt(session, by="frank", cloud_name="tests")
        assert cleanup_ops.status(session, settings).identity["matches"] is True

    (name,) = sql(sessions, "SELECT current_database()")[0]
    assert (adopted.database_name, adopted.cloud_name) == (name, "tests")
    assert adopted.requeued == [ids[0]]
    rows = queue_rows(sessions)
    assert rows[ids[0]][:2] == ("pending", None)
    assert rows[ids[1]][:2] == ("held", "breaker: test")
    with sessions.begin() as session:
        identity = cleanup_ops.status(session).identity
    assert identity["matches"] is True
    assert (identity["database_name"], identity["adopted_by"]) == (name, "frank")
    assert identity["cloud_name"] == "tests"
    (logged,) = audit(sessions, "cleanup.adopt")
    assert (logged["by"], logged["requeued"], logged["queue_ids"]) == (
        "frank",
        1,
        [ids[0]],
    )


def test_status_shows_held_and_cancelled_rows_the_breaker_scope_and_delay(
    sessions, settings
):
    ids = queue_held(sessions, ["st/1", "st/2"])
    sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET status = 'cancelled' WHERE id = :id",
        id=ids[1],
    )
    trip(sessions)
    configured = replace(
        settings, delete_scope=DeleteScope(prefixes=("st/",)), delete_delay_s=30
    )

    with sessions.begin() as session:
        state = cleanup_ops.status(session, configured)
        plain = cleanup_ops.status(session)

    assert (state.counts["held"], state.counts["cancelled"]) == (1, 1)
    assert state.breaker["tripped"] is True
    assert state.breaker["details"] == {"queued": 900, "limit": 100}
    assert state.scope == "prefix:st/"
    assert state.delay_s == 30
    assert state.identity["matches"] is True
    assert plain.scope is None
    answer = json.loads(json.dumps(state.as_dict()))  # JSON-ready
    assert answer["breaker"]["tripped_at"] is not None
    assert answer["identity"]["recorded_at"] is not None
    with sessions.begin() as session:
        everything = cleanup_ops.status(session, settings)
    assert everything.scope == cleanup_ops.EVERY_ASSET
