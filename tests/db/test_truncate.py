"""TRUNCATE media_assets fires no row trigger, so it would queue no Cloudinary delete: it is
refused (migration 0009) unless the transaction says the mirror alone is being emptied
(SET LOCAL mediasync.origin = 'cloudinary'). Either way the cloud keeps every asset."""

from collections.abc import Iterator

import psycopg
import pytest

from db.urls import libpq_url
from workers.cleanup import drain as cleanup


@pytest.fixture
def conn(committed_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(libpq_url(committed_db), autocommit=True) as connection:
        yield connection


def mirror(conn: psycopg.Connection, public_ids: list[str]) -> None:
    conn.execute(
        "INSERT INTO media_assets (public_id, asset_id)"
        " SELECT pid, md5(pid) FROM unnest(%s::text[]) pid",
        (public_ids,),
    )


def counts(conn: psycopg.Connection) -> tuple[int, int]:
    """(mirror rows, cleanup queue rows)"""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM media_assets),"
        " (SELECT count(*) FROM cloudinary_cleanup_queue)"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE media_assets",
        "TRUNCATE TABLE ONLY media_assets RESTART IDENTITY",
        "TRUNCATE webhook_inbox, media_assets, media_sync_log",
    ],
)
def test_truncate_is_refused_with_the_two_ways_out(conn, statement):
    mirror(conn, ["a", "b"])

    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState) as refused:
        conn.execute(statement)

    assert "TRUNCATE media_assets is refused" in str(refused.value)
    hint = refused.value.diag.message_hint or ""
    assert "DELETE FROM media_assets" in hint
    assert "SET LOCAL mediasync.origin = 'cloudinary'" in hint
    assert counts(conn) == (2, 0)


def test_the_origin_must_be_set_in_the_same_transaction(conn):
    mirror(conn, ["a"])
    with conn.transaction():
        conn.execute("SET LOCAL mediasync.origin = 'cloudinary'")
    # SET LOCAL ended with its transaction: this TRUNCATE is on its own again
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
        conn.execute("TRUNCATE media_assets")
    # another origin is no way out either
    with conn.transaction():
        conn.execute("SET LOCAL mediasync.origin = 'host'")
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            conn.execute("TRUNCATE media_assets")
        raise psycopg.Rollback
    assert counts(conn) == (1, 0)


def test_with_origin_cloudinary_it_empties_the_mirror_and_deletes_nothing_in_the_cloud(
    conn, cloud, sessions, cloudinary, governor
):
    cloud.client.seed(5, prefix="keep/")
    public_ids = [a["public_id"] for a in cloud.client.assets()]
    mirror(conn, public_ids)

    with conn.transaction():
        conn.execute("SET LOCAL mediasync.origin = 'cloudinary'")
        conn.execute("TRUNCATE media_assets")

    assert counts(conn) == (0, 0)
    cloud.client.reset_counters()
    report = cleanup.drain(sessions, cloudinary, governor, holder="test")
    assert report.claimed == 0
    assert cloud.client.count_assets() == 5
    counters = cloud.client.counters()
    assert (counters["delete_resources"], counters["destroy"]) == (0, 0)


def test_a_refused_truncate_leaves_the_cloud_alone_and_a_delete_still_queues(
    conn, cloud, sessions, cloudinary, governor
):
    cloud.client.seed(3, prefix="keep/")
    public_ids = [a["public_id"] for a in cloud.client.assets()]
    mirror(conn, public_ids)
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
        conn.execute("TRUNCATE media_assets")
    cleanup.drain(sessions, cloudinary, governor, holder="test")
    assert cloud.client.count_assets() == 3

    # the way to delete the assets too: a DELETE, which queues one cleanup per row
    conn.execute("DELETE FROM media_assets WHERE public_id = %s", (public_ids[0],))
    assert counts(conn) == (2, 1)
    cleanup.drain(sessions, cloudinary, governor, holder="test")
    assert cloud.client.count_assets() == 2
    assert cloud.client.asset("image", "upload", public_ids[0]) is None
