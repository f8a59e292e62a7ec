"""The no-setup path: PostgreSQL and Redis from the PyPI packages, used end to end."""

import os

import psycopg
import pytest
import redis

from db.migrate import migrate
from db.notify import CLEANUP_CHANNEL
from mediasync.embedded import LocalPostgres, LocalRedis


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.timeout(180)
def test_packaged_servers_run_the_schema_triggers_and_a_queue(server_dir):
    postgres = LocalPostgres(server_dir / "pg", source="package", durable=False)
    valkey = LocalRedis(server_dir / "redis", source="package")
    assert "site-packages" in str(postgres.bin_dir)
    assert "site-packages" in valkey.binary
    postgres.start()
    valkey.start()
    pids = [postgres.process.pid, valkey.process.pid]
    try:
        assert migrate(postgres.url, report=lambda _: None)
        with (
            psycopg.connect(postgres.url, autocommit=True) as listener,
            psycopg.connect(postgres.url, autocommit=True) as conn,
        ):
            listener.execute(f"LISTEN {CLEANUP_CHANNEL}")
            conn.execute("INSERT INTO media_assets (public_id) VALUES ('e/1')")
            conn.execute("DELETE FROM media_assets")
            payloads = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
            queued = conn.execute(
                "SELECT id::text FROM cloudinary_cleanup_queue"
            ).fetchall()
            assert payloads == [queued[0][0]]
        client = redis.Redis.from_url(valkey.url)
        try:
            client.lpush("q", "job")
            assert client.brpop(["q"], timeout=1) == (b"q", b"job")
        finally:
            client.close()
    finally:
        postgres.stop()
        valkey.stop()
    assert not any(_alive(pid) for pid in pids)
