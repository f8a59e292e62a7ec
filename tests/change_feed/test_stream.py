"""The feed over real sockets against the real database: order, resume, filters, seams."""

from __future__ import annotations

import threading
import time

import psycopg

from db.urls import libpq_url
from tests.waiting import wait_until


def upload(db, public_id, asset_id=None, folder=None, resource_type="image"):
    db.execute(
        "INSERT INTO media_assets (public_id, asset_id, folder, resource_type)"
        " VALUES (%s, %s, %s, %s)",
        (public_id, asset_id or public_id, folder, resource_type),
    )


def test_creates_renames_and_deletes_arrive_in_order(feed, db):
    client = feed.client()
    for i in range(50):
        upload(db, f"story/{i}")
    for i in range(3):
        db.execute(
            "UPDATE media_assets SET public_id = public_id || '-renamed'"
            " WHERE public_id = %s",
            (f"story/{i}",),
        )
    for i in range(25, 45):
        db.execute("DELETE FROM media_assets WHERE public_id = %s", (f"story/{i}",))
    for i in range(45, 50):
        db.execute(
            "UPDATE media_assets SET deleted_at = now() WHERE public_id = %s",
            (f"story/{i}",),
        )
    events = client.events(78)
    ids = [e.id for e in events]
    assert ids == sorted(ids)
    assert len(set(ids)) == 78
    assert [e.data["op"] for e in events] == ["created"] * 50 + ["updated"] * 3 + [
        "deleted"
    ] * 25
    assert [e.data["public_id"] for e in events[:50]] == [
        f"story/{i}" for i in range(50)
    ]
    assert [e.data["changed"] for e in events[50:53]] == [
        {"public_id": f"story/{i}-renamed"} for i in range(3)
    ]
    assert [e.data["public_id"] for e in events[53:]] == [
        f"story/{i}" for i in range(25, 50)
    ]
    assert all(e.id == e.data["id"] for e in events)
    assert client.quiet_for(0.3)


def test_a_client_back_from_a_gap_gets_exactly_what_it_missed(feed, db):
    client = feed.client()
    for i in range(5):
        upload(db, f"gap/{i}")
    seen = client.events(5)
    client.close()
    for i in range(5, 25):  # 20 changes while it is away
        upload(db, f"gap/{i}")
    back = feed.client(headers={"Last-Event-ID": str(seen[-1].id)})
    missed = back.events(20)
    assert [e.data["public_id"] for e in missed] == [f"gap/{i}" for i in range(5, 25)]
    assert [e.id for e in missed] == list(range(seen[-1].id + 1, seen[-1].id + 21))
    assert back.quiet_for(0.3)
    upload(db, "gap/live")
    assert back.next_event().data["public_id"] == "gap/live"


def test_resume_while_changes_keep_coming_has_no_gap_and_no_duplicate(start_feed, db):
    feed = start_feed(page_size=7, queue_size=16)
    stop = threading.Event()
    written: list[int] = []

    def writer():
        with psycopg.connect(libpq_url(feed.hub.conninfo), autocommit=True) as conn:
            i = 0
            while not stop.is_set() and i < 400:
                upload(conn, f"seam/{i}")
                written.append(i)
                i += 1

    for i in range(100):
        upload(db, f"seam/before{i}")
    thread = threading.Thread(target=writer)
    thread.start()
    client = feed.client(headers={"Last-Event-ID": "0"})
    try:
        events = client.events(500, timeout=60)
    finally:
        stop.set()
        thread.join()
    assert [e.id for e in events] == list(range(1, 501))
    assert client.quiet_for(0.3)


def test_an_id_committed_late_is_delivered_before_the_ones_after_it(
    feed, db, committed_db
):
    client = feed.client()
    slow = psycopg.connect(libpq_url(committed_db))
    try:
        upload(slow, "late/first")  # takes the smaller id, commits last
        upload(db, "late/second")
        assert client.quiet_for(0.5)  # held back: an earlier id may still come
        slow.commit()
        first, second = client.events(2)
        assert (first.data["public_id"], second.data["public_id"]) == (
            "late/first",
            "late/second",
        )
        assert second.id == first.id + 1
        # a rolled-back id never comes: the ones after it go out once it is given up
        upload(slow, "late/rolled-back")
        upload(db, "late/third")
        assert client.quiet_for(0.3)
        slow.rollback()
        third = client.next_event(5)
        assert third.data["public_id"] == "late/third"
        assert third.id == second.id + 2
    finally:
        slow.close()


def test_filters(feed, db):
    by_prefix = feed.client("public_id=shop%2F")
    by_folder = feed.client("folder=products")
    videos = feed.client("resource_type=video")
    upload(db, "shop/a", folder="products")
    upload(db, "blog/b", folder="products/old")
    upload(db, "shop/c", folder="other", resource_type="video")
    upload(db, "misc/d", folder="productsx")
    db.execute(
        "UPDATE media_assets SET public_id = 'misc/a' WHERE public_id = 'shop/a'"
    )
    assert [e.data["public_id"] for e in by_prefix.events(3)] == [
        "shop/a",
        "shop/c",
        "misc/a",  # renamed away from the prefix: the subscriber sees it leave
    ]
    assert [e.data["public_id"] for e in by_folder.events(3)] == [
        "shop/a",
        "blog/b",
        "misc/a",
    ]
    assert [e.data["public_id"] for e in videos.events(1)] == ["shop/c"]
    for client in (by_prefix, by_folder, videos):
        assert client.quiet_for(0.2)
    # the catch-up from the table filters the same way
    again = feed.client("public_id=shop%2F", headers={"Last-Event-ID": "0"})
    assert [e.data["public_id"] for e in again.events(3)] == [
        "shop/a",
        "shop/c",
        "misc/a",
    ]
    assert again.quiet_for(0.2)


def test_heartbeats_keep_an_idle_stream_open(start_feed):
    feed = start_feed(heartbeat_s=0.2)
    client = feed.client()
    assert client.quiet_for(1.0)
    assert client.comments >= 3


def test_a_subscriber_that_stops_reading_is_cut_off_and_the_others_carry_on(
    start_feed, db
):
    feed = start_feed(queue_size=200, page_size=100)
    stalled = feed.client(receive_buffer=4096)
    reader = feed.client()
    for start in range(0, 4000, 1000):
        db.execute(
            "INSERT INTO media_assets (public_id, asset_id)"
            " SELECT 'flood/' || i, 'flood' || i FROM generate_series(%s::int, %s::int) i",
            (start + 1, start + 1000),
        )
    assert len(reader.events(4000)) == 4000
    got: list = []
    reading = threading.Thread(
        target=lambda: got.extend(reader.events(4000, timeout=60))
    )
    reading.start()
    # ~8 MB of events (each update carries its 2 kB change): more than sockets hold
    for start in range(0, 4000, 100):
        db.execute(
            "UPDATE media_assets SET context = jsonb_build_object('pad', repeat('x', 2000))"
            " WHERE id BETWEEN %s AND %s",
            (start + 1, start + 100),
        )
    reading.join()
    assert [e.id for e in got] == list(range(4001, 8001))
    wait_until(lambda: feed.call(lambda: feed.hub.dropped) == 1, timeout=10,
               what="the stalled subscriber to be dropped")  # fmt: skip
    assert feed.call(lambda: len(feed.hub.subscribers)) == 1
    # it may resume: from its last id it gets the rest
    stalled.close()
    resumed = feed.client(headers={"Last-Event-ID": "7990"})
    assert [e.id for e in resumed.events(10)] == list(range(7991, 8001))


def test_a_resume_past_retention_is_told_so(feed, db):
    for i in range(5):
        upload(db, f"old/{i}")
    db.execute("DELETE FROM mediasync_changes WHERE id <= 3")
    client = feed.client(headers={"Last-Event-ID": "1"})
    first = client.next_event()
    assert first.event == "expired"
    assert first.data == {"last_event_id": 1, "oldest_id": 4}
    assert [e.id for e in client.events(2)] == [4, 5]


def test_the_feed_rides_out_a_lost_database_connection(feed, db):
    client = feed.client()
    upload(db, "outage/1")
    assert client.next_event().data["public_id"] == "outage/1"
    db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'mediasync-feed' AND datname = current_database()"
    )
    time.sleep(0.2)
    upload(db, "outage/2")
    assert client.next_event(15).data["public_id"] == "outage/2"
    assert feed.call(lambda: feed.hub.connects) >= 2
