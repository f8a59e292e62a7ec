"""The delete triggers: one cleanup row and one NOTIFY per deleted live row, in its transaction."""

import hashlib
from collections.abc import Iterator

import psycopg
import pytest

from db.notify import CLEANUP_CHANNEL
from db.urls import libpq_url

INSERT_ASSET = (
    "INSERT INTO media_assets (public_id, asset_id, resource_type, delivery_type, version)"
    " VALUES (%s, %s, %s, %s, %s) RETURNING id"
)


@pytest.fixture
def conn(committed_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(libpq_url(committed_db), autocommit=True) as connection:
        yield connection


@pytest.fixture
def listener(committed_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(libpq_url(committed_db), autocommit=True) as connection:
        connection.execute(f"LISTEN {CLEANUP_CHANNEL}")
        yield connection


def notified_ids(
    listener: psycopg.Connection, timeout: float = 0.5, stop_after: int | None = None
) -> list[int]:
    notifies = listener.notifies(timeout=timeout, stop_after=stop_after)
    return [int(n.payload) for n in notifies]


def asset_id_of(public_id: str) -> str:
    """One row per asset_id (media_assets_one_row_per_asset): an asset_id per name here."""
    return hashlib.md5(public_id.encode(), usedforsecurity=False).hexdigest()


def add_asset(conn: psycopg.Connection, public_id: str = "shop/shoe") -> int:
    row = conn.execute(
        INSERT_ASSET, (public_id, asset_id_of(public_id), "video", "private", 42)
    ).fetchone()
    assert row is not None
    return int(row[0])


def queue_rows(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "SELECT id, media_asset_id, public_id, resource_type, delivery_type, asset_id, version,"
        " reason, status FROM cloudinary_cleanup_queue ORDER BY id"
    ).fetchall()


def test_hard_delete_queues_one_row_with_identity_and_notifies_its_id(conn, listener):
    row_id = add_asset(conn)
    conn.execute("DELETE FROM media_assets WHERE id = %s", (row_id,))
    rows = queue_rows(conn)
    assert [r[1:] for r in rows] == [
        (
            row_id,
            "shop/shoe",
            "video",
            "private",
            asset_id_of("shop/shoe"),
            42,
            "hard_delete",
            "pending",
        )
    ]
    assert notified_ids(listener) == [rows[0][0]]


def test_soft_delete_queues_one_row_and_notifies_its_id(conn, listener):
    row_id = add_asset(conn)
    conn.execute("UPDATE media_assets SET deleted_at = now() WHERE id = %s", (row_id,))
    rows = queue_rows(conn)
    assert [(r[1], r[7]) for r in rows] == [(row_id, "soft_delete")]
    assert notified_ids(listener) == [rows[0][0]]


def test_notification_arrives_only_after_commit(conn, listener):
    row_id = add_asset(conn)
    with conn.transaction():
        conn.execute("DELETE FROM media_assets WHERE id = %s", (row_id,))
        assert notified_ids(listener, timeout=0.3) == []
    assert len(notified_ids(listener)) == 1


def test_rolled_back_delete_queues_and_notifies_nothing(conn, listener):
    row_id = add_asset(conn)

    with conn.transaction():
        conn.execute("DELETE FROM media_assets WHERE id = %s", (row_id,))
        conn.execute("UPDATE media_assets SET deleted_at = now()")
        raise psycopg.Rollback  # leaves the block quietly, rolling back
    assert queue_rows(conn) == []
    assert notified_ids(listener) == []


def test_echo_suppressed_deletes_queue_nothing(conn, listener):
    soft = add_asset(conn, "a/soft")
    hard = add_asset(conn, "a/hard")
    with conn.transaction():
        conn.execute("SET LOCAL mediasync.origin = 'cloudinary'")
        conn.execute(
            "UPDATE media_assets SET deleted_at = now() WHERE id = %s", (soft,)
        )
        conn.execute("DELETE FROM media_assets WHERE id = %s", (hard,))
    assert queue_rows(conn) == []
    assert notified_ids(listener) == []
    # SET LOCAL ends with its transaction: the next delete is the host app's again.
    live = add_asset(conn, "a/live")
    conn.execute("DELETE FROM media_assets WHERE id = %s", (live,))
    assert [r[2] for r in queue_rows(conn)] == ["a/live"]


def test_unrelated_updates_queue_nothing(conn, listener):
    row_id = add_asset(conn)
    conn.execute(
        "UPDATE media_assets SET tags = '{x}', version = 43, display_name = 'n',"
        " updated_at = now() WHERE id = %s",
        (row_id,),
    )
    conn.execute("UPDATE media_assets SET deleted_at = NULL WHERE id = %s", (row_id,))
    assert queue_rows(conn) == []
    assert notified_ids(listener) == []


def test_deleting_a_tombstone_queues_nothing_more(conn):
    row_id = add_asset(conn)
    conn.execute("UPDATE media_assets SET deleted_at = now() WHERE id = %s", (row_id,))
    conn.execute("UPDATE media_assets SET deleted_at = now() WHERE id = %s", (row_id,))
    conn.execute("DELETE FROM media_assets WHERE id = %s", (row_id,))
    assert [r[7] for r in queue_rows(conn)] == ["soft_delete"]


def test_restoring_a_row_cancels_its_pending_cleanup(conn):
    row_id = add_asset(conn)
    conn.execute("UPDATE media_assets SET deleted_at = now() WHERE id = %s", (row_id,))
    conn.execute("UPDATE media_assets SET deleted_at = NULL WHERE id = %s", (row_id,))
    assert [r[8] for r in queue_rows(conn)] == ["skipped"]


def test_bulk_delete_of_10000_rows_queues_10000_rows(conn, listener):
    conn.execute(
        "INSERT INTO media_assets (public_id, asset_id, version)"
        " SELECT 'bulk/' || g, md5(g::text), g FROM generate_series(1, 10000) g"
    )
    conn.execute("DELETE FROM media_assets")
    count = conn.execute(
        "SELECT count(*), count(DISTINCT public_id) FROM cloudinary_cleanup_queue"
        " WHERE reason = 'hard_delete'"
    ).fetchone()
    assert count == (10000, 10000)
    assert len(set(notified_ids(listener, timeout=30, stop_after=10000))) == 10000
