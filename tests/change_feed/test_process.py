"""`mediasync feed` as its own process: 200 subscribers on one database connection, and a
subscriber that stops reading does not grow the process."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.change_feed.process import running_feed
from tests.change_feed.sse import FEED_TOKEN, SseClient
from tests.waiting import wait_until


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def feed_process(committed_db: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    with running_feed(committed_db, MEDIASYNC_FEED_TOKEN=FEED_TOKEN) as (process, port):
        yield process, port
    assert process.returncode == 0  # SIGTERM ends it cleanly


def feed_connections(db) -> int:
    return int(
        db.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = 'mediasync-feed' AND datname = current_database()"
        ).fetchone()[0]
    )


def test_200_subscribers_share_one_database_connection(feed_process, db):
    _, port = feed_process
    clients = [SseClient(port) for _ in range(200)]
    try:
        assert {c.status for c in clients} == {200}
        db.execute(
            "INSERT INTO media_assets (public_id, asset_id) VALUES ('many/1', 'many1')"
        )
        for client in clients:
            assert client.next_event().data["public_id"] == "many/1"
        assert feed_connections(db) == 1
    finally:
        for client in clients:
            client.close()


def test_a_subscriber_that_stops_reading_does_not_grow_the_process(feed_process, db):
    process, port = feed_process
    stalled = SseClient(port, receive_buffer=4096)
    try:
        # warm up (imports, first pages, buffers), then measure
        db.execute(
            "INSERT INTO media_assets (public_id, asset_id)"
            " SELECT 'warm/' || i, 'warm' || i FROM generate_series(1, 2000) i"
        )
        time.sleep(1)
        before = rss_kib(process.pid)
        for start in range(0, 30000, 5000):
            db.execute(
                "INSERT INTO media_assets (public_id, asset_id)"
                " SELECT 'flood/' || i, 'flood' || i"
                " FROM generate_series(%s::int, %s::int) i",
                (start + 1, start + 5000),
            )
        # ~60 MB of events (each update carries its 2 kB change): unbounded buffering
        # would show as that much growth
        for start in range(2000, 32000, 1000):
            db.execute(
                "UPDATE media_assets"
                " SET context = jsonb_build_object('pad', repeat('x', 2000))"
                " WHERE id BETWEEN %s AND %s",
                (start + 1, start + 1000),
            )
        peak = [rss_kib(process.pid)]

        def cut_off() -> bool:
            peak.append(rss_kib(process.pid))
            try:
                stalled.sock.settimeout(0.2)
                while stalled.sock.recv(65536):
                    pass
            except TimeoutError:
                return False
            except ConnectionError:
                return True
            return True

        wait_until(cut_off, timeout=30, what="the stalled subscriber to be cut off")
        grown = max(peak) - before
        print(f"feed RSS {before} KiB before the flood, peak growth {grown} KiB")
        assert grown < 25 * 1024, f"the feed grew by {grown} KiB"
        # the feed still serves
        fresh = SseClient(port, headers={"Last-Event-ID": "61999"})
        assert fresh.next_event().id == 62000
        fresh.close()
    finally:
        stalled.close()
