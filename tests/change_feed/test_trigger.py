"""db/migrations/0011: what each write of media_assets records in mediasync_changes."""

from __future__ import annotations

import select

import pytest

from db.migrate import discover
from db.notify import CHANGES_CHANNEL


def changes(db, after=0):
    return db.execute(
        "SELECT id, op, public_id, asset_folder, asset_id, changed, previous"
        " FROM mediasync_changes WHERE id > %s ORDER BY id",
        (after,),
    ).fetchall()


def last_id(db):
    return db.execute("SELECT coalesce(max(id), 0) FROM mediasync_changes").fetchone()[
        0
    ]


def insert(db, public_id, asset_id, folder="f", **extra):
    columns = ["public_id", "asset_id", "folder", *extra]
    db.execute(
        f"INSERT INTO media_assets ({', '.join(columns)})"
        f" VALUES ({', '.join(['%s'] * len(columns))})",
        (public_id, asset_id, folder, *extra.values()),
    )


def test_the_trigger_notifies_on_the_channel_the_feed_listens_to():
    assert f"pg_notify('{CHANGES_CHANNEL}'" in "".join(m.sql for m in discover())


def test_insert_update_rename_delete_map_to_their_ops(db):
    insert(db, "t/a", "A", tags=["x"])
    db.execute(
        "UPDATE media_assets SET tags = '{x,y}', width = 10 WHERE asset_id = 'A'"
    )
    db.execute(
        "UPDATE media_assets SET public_id = 't/b', folder = 'g' WHERE asset_id = 'A'"
    )
    db.execute("DELETE FROM media_assets WHERE asset_id = 'A'")
    rows = changes(db)
    assert [r[1] for r in rows] == ["created", "updated", "updated", "deleted"]
    created, retagged, renamed, deleted = rows
    assert created[2:5] == ("t/a", "f", "A")
    assert created[5] is None  # the row itself is one join away
    assert retagged[5] == {"tags": ["x", "y"], "width": 10}
    assert retagged[6] == {"tags": ["x"], "width": None}
    assert (renamed[2], renamed[3]) == ("t/b", "g")
    assert renamed[5] == {"public_id": "t/b", "folder": "g"}
    assert renamed[6] == {"public_id": "t/a", "folder": "f"}
    assert deleted[2:5] == ("t/b", "g", "A")
    assert deleted[5] is None


def test_soft_delete_and_restore(db):
    insert(db, "t/soft", "S")
    start = last_id(db)
    db.execute("UPDATE media_assets SET deleted_at = now() WHERE asset_id = 'S'")
    # a tombstone's own updates say nothing
    db.execute(
        "UPDATE media_assets SET deleted_at = now(), width = 5 WHERE asset_id = 'S'"
    )
    db.execute("UPDATE media_assets SET deleted_at = NULL WHERE asset_id = 'S'")
    db.execute("UPDATE media_assets SET deleted_at = now() WHERE asset_id = 'S'")
    db.execute(
        "UPDATE media_assets SET deleted_at = NULL, version = 2 WHERE asset_id = 'S'"
    )
    db.execute("DELETE FROM media_assets WHERE asset_id = 'S'")
    rows = changes(db, start)
    assert [r[1] for r in rows] == [
        "deleted",
        "restored",
        "deleted",
        "restored",
        "deleted",
    ]
    # a restore says what differs from the tombstone (deleted_at itself is the op)
    assert rows[1][5] is None
    assert (rows[3][5], rows[3][6]) == ({"version": 2}, {"version": None})


def test_bookkeeping_only_updates_write_nothing(db):
    insert(db, "t/book", "B")
    start = last_id(db)
    db.execute(
        "UPDATE media_assets SET updated_at = now() + interval '1 s', synced_at = now(),"
        " sync_status = 'needs_refresh', stamps = '{\"tags\": \"x\"}',"
        " last_event_at = now() WHERE asset_id = 'B'"
    )
    db.execute("UPDATE media_assets SET width = width WHERE asset_id = 'B'")
    assert changes(db, start) == []


def test_inserting_a_tombstone_writes_nothing(db):
    start = last_id(db)
    db.execute(
        "INSERT INTO media_assets (public_id, asset_id, deleted_at) VALUES ('t/t', 'T', now())"
    )
    assert changes(db, start) == []


def test_columns_added_later_appear_without_changing_the_trigger(db):
    db.execute("ALTER TABLE media_assets ADD COLUMN test_later text")
    insert(db, "t/later", "L")
    start = last_id(db)
    db.execute("UPDATE media_assets SET test_later = 'v' WHERE asset_id = 'L'")
    [row] = changes(db, start)
    assert row[5] == {"test_later": "v"}


def test_one_notify_per_statement_and_ids_in_row_order(db, committed_db):
    db.execute(f"LISTEN {CHANGES_CHANNEL}")
    db.execute(
        "INSERT INTO media_assets (public_id, asset_id)"
        " SELECT 'bulk/' || i, 'bulk' || i FROM generate_series(1, 300) i"
    )
    db.execute("UPDATE media_assets SET width = 1 WHERE public_id LIKE 'bulk/%'")
    select.select([db.fileno()], [], [], 2)
    notes = list(db.notifies(timeout=0.5))
    assert len(notes) == 2
    rows = db.execute(
        "SELECT id, op, media_asset_id FROM mediasync_changes ORDER BY id"
    ).fetchall()
    assert [int(n.payload) for n in notes] == [rows[299][0], rows[-1][0]]
    for op in ("created", "updated"):
        asset_ids = [r[2] for r in rows if r[1] == op]
        assert asset_ids == sorted(asset_ids)
        assert len(asset_ids) == 300


def test_echo_suppressed_deletes_still_reach_the_feed(db):
    insert(db, "t/echo", "E")
    start = last_id(db)
    with db.transaction():
        db.execute("SET LOCAL mediasync.origin = 'cloudinary'")
        db.execute("DELETE FROM media_assets WHERE asset_id = 'E'")
    assert [r[1] for r in changes(db, start)] == ["deleted"]


@pytest.mark.parametrize("op", ["rollback", "savepoint"])
def test_rolled_back_writes_leave_no_change(db, op):
    start = last_id(db)
    with db.transaction(force_rollback=op == "rollback"):
        if op == "savepoint":
            with db.transaction(force_rollback=True):
                insert(db, "t/gone", "G")
        else:
            insert(db, "t/gone", "G")
    assert changes(db, start) == []
