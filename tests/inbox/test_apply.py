"""Each notification type applied to the mirror (workers.inbox.batch.apply_batch on a real DB)."""

from sqlalchemy import select

from db.models import CleanupQueueItem
from tests.factories import make_asset
from tests.inbox import payloads as p
from tests.inbox.helpers import add_notification, assets, inbox_row, live, log_for
from workers.inbox.batch import apply_batch


def apply(session, *bodies):
    ids = [add_notification(session, body) for body in bodies]
    apply_batch(session, fetcher=None)
    return ids


def test_upload_creates_a_live_row_with_every_column_the_payload_has(db_session):
    body = p.upload(
        "catalog/shoes/red",
        1795183407,
        context={"custom": {"alt": "Red sneaker"}},
        metadata={"sku": "R-1"},
        duration=2.5,
    )
    [inbox_id] = apply(db_session, body)
    row = live(db_session, "catalog/shoes/red")
    assert row is not None
    assert (row.asset_id, row.resource_type, row.delivery_type) == (
        p.asset_id_for("catalog/shoes/red"),
        "image",
        "upload",
    )
    assert (row.version, row.format, row.bytes, row.width, row.height) == (
        1795183407,
        "jpg",
        284913,
        1600,
        1200,
    )
    assert row.duration == 2.5
    assert (row.folder, row.display_name, row.tags) == (
        "catalog/shoes",
        "red",
        ["catalog"],
    )
    assert row.context == {"alt": "Red sneaker"}
    assert row.metadata_ == {"sku": "R-1"}
    assert row.secure_url == body["secure_url"]
    assert row.etag == body["etag"]
    assert row.cloudinary_created_at.isoformat() == "2026-11-20T14:03:27+00:00"
    assert row.sync_status == "synced"
    assert row.last_event_at == p.BASE_TIME
    assert inbox_row(db_session, inbox_id).status == "applied"
    [entry] = log_for(db_session, inbox_id)
    assert (entry.operation, entry.status, entry.source) == (
        "upload",
        "applied",
        "webhook",
    )
    assert entry.public_id == "catalog/shoes/red"
    assert entry.asset_id == row.asset_id
    assert entry.duration_ms is not None


def test_fixed_folder_mode_payload_fills_folder_from_folder(db_session):
    body = p.upload("legacy/pic", 1)
    del body["asset_folder"]
    body["folder"] = "legacy"
    apply(db_session, body)
    assert live(db_session, "legacy/pic").folder == "legacy"


def test_an_overwrite_upload_with_a_newer_version_updates_the_row(db_session):
    apply(db_session, p.upload("a/x", 1, t=0), p.upload("a/x", 2, t=10, width=10))
    [row] = assets(db_session, "a/x")
    assert (row.version, row.width) == (2, 10)


def test_delete_marks_the_row_deleted_and_queues_no_cleanup(db_session):
    apply(db_session, p.upload("a/del", 5, t=0))
    [inbox_id] = apply(db_session, p.delete("a/del", 5, t=10))
    [row] = assets(db_session, "a/del")
    assert row.deleted_at is not None
    assert inbox_row(db_session, inbox_id).status == "applied"
    queued = db_session.scalars(
        select(CleanupQueueItem).where(CleanupQueueItem.public_id == "a/del")
    ).all()
    assert queued == []


def test_delete_of_an_asset_never_seen_leaves_a_tombstone(db_session):
    apply(db_session, p.delete("a/ghost", 7, t=10))
    [row] = assets(db_session, "a/ghost")
    assert row.deleted_at is not None
    assert row.version == 7


def test_delete_echo_of_our_own_cleanup_adds_no_tombstone(db_session):
    make_asset(db_session, public_id="a/echo", version=3)
    row = live(db_session, "a/echo")
    db_session.delete(row)  # the host app's hard delete queues the cleanup
    db_session.flush()
    apply(db_session, p.delete("a/echo", 3, t=10))
    assert assets(db_session, "a/echo") == []


def test_rename_moves_the_row_by_asset_id(db_session):
    apply(db_session, p.upload("a/old", 1, t=0))
    apply(db_session, p.rename("a/old", "b/new", t=10))
    assert live(db_session, "a/old") is None
    row = live(db_session, "b/new")
    assert row.asset_id == p.asset_id_for("a/old")
    assert (row.folder, row.display_name) == ("b", "new")


def test_rename_with_overwrite_tombstones_the_replaced_asset(db_session):
    apply(db_session, p.upload("a/one", 1, t=0), p.upload("a/two", 1, t=0))
    apply(db_session, p.rename("a/one", "a/two", t=10))
    rows = assets(db_session, "a/two")
    assert len(rows) == 2
    [survivor] = [r for r in rows if r.deleted_at is None]
    assert survivor.asset_id == p.asset_id_for("a/one")
    queued = db_session.scalars(select(CleanupQueueItem)).all()
    assert queued == []


def test_tags_change_adds_and_removes(db_session):
    apply(db_session, p.upload("a/t", 1, t=0, tags=["old", "keep"]))
    apply(db_session, p.tags_changed("a/t", ["sale"], ["old"], t=10))
    assert live(db_session, "a/t").tags == ["keep", "sale"]


def test_context_change_adds_updates_and_removes(db_session):
    apply(
        db_session,
        p.upload(
            "a/c", 1, t=0, context={"custom": {"caption": "a", "photographer": "y"}}
        ),
    )
    apply(
        db_session,
        p.context_changed(
            "a/c",
            added={"alt": "Red"},
            updated={"caption": "x"},
            removed={"photographer": "y"},
            t=10,
        ),
    )
    assert live(db_session, "a/c").context == {"caption": "x", "alt": "Red"}


def test_display_name_change(db_session):
    apply(db_session, p.upload("a/d", 1, t=0))
    apply(db_session, p.display_name_changed("a/d", "Nice name", t=10))
    assert live(db_session, "a/d").display_name == "Nice name"


def test_move_sets_the_folder(db_session):
    apply(db_session, p.upload("a/m", 1, t=0))
    apply(db_session, p.move("a/m", "archive/2026", t=10))
    assert live(db_session, "a/m").folder == "archive/2026"


def test_types_to_refetch_without_an_account_mark_the_row_for_reconciliation(
    db_session,
):
    bodies = [
        p.metadata_changed("a/r", t=10),
        p.restore_asset_version("a/r", t=10),
        p.delete_by_token("a/r", t=10),
    ]
    for body in bodies:
        apply(db_session, p.upload("a/r", 1, t=0))
        live(db_session, "a/r").sync_status = "synced"
        [inbox_id] = apply(db_session, body)
        assert live(db_session, "a/r").sync_status == "needs_refresh", body
        assert inbox_row(db_session, inbox_id).status == "applied"
        assert [e.status for e in log_for(db_session, inbox_id)] == ["needs_refresh"]


def test_folder_rename_marks_each_asset_in_it_for_refresh(db_session):
    apply(
        db_session,
        p.upload("promo/a", 1),
        p.upload("promo/sub/b", 1),
        p.upload("x/c", 1),
    )
    apply(db_session, p.folder_renamed("promo", "marketing/promo", t=10))
    assert live(db_session, "promo/a").sync_status == "needs_refresh"
    assert live(db_session, "promo/sub/b").sync_status == "needs_refresh"
    assert live(db_session, "x/c").sync_status == "synced"


def test_eager_and_folder_events_are_recorded_without_changing_rows(db_session):
    apply(db_session, p.upload("v/dog", 1))
    before = live(db_session, "v/dog").updated_at
    ids = apply(
        db_session, p.eager("v/dog"), p.create_folder("v/new"), p.delete_folder("v/old")
    )
    assert live(db_session, "v/dog").updated_at == before
    for inbox_id in ids:
        assert inbox_row(db_session, inbox_id).status == "applied"
        assert [e.status for e in log_for(db_session, inbox_id)] == ["recorded"]


def test_multi_without_an_account_is_applied_as_needing_refresh(db_session):
    [inbox_id] = apply(db_session, p.multi("spring"))
    assert inbox_row(db_session, inbox_id).status == "applied"
    assert [e.status for e in log_for(db_session, inbox_id)] == ["needs_refresh"]


def test_unknown_types_are_ignored(db_session):
    [inbox_id] = apply(db_session, {"notification_type": "brand_new_thing", "x": 1})
    row = inbox_row(db_session, inbox_id)
    assert row.status == "ignored"
    assert row.applied_at is not None
    assert [e.status for e in log_for(db_session, inbox_id)] == ["ignored"]


def test_a_wake_up_that_finds_nothing_does_nothing(db_session):
    result = apply_batch(db_session, fetcher=None)
    assert (result.claimed, result.failed, result.retry_in) == (0, 0, None)
