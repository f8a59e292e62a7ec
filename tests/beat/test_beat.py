"""Two beat replicas: one fires each tick; SIGKILL the leader and the standby carries on."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest
import redis

from db.urls import libpq_url
from tests.waiting import wait_until
from workers.beat.schedule import beat_schedule
from workers.celery_app import MAINTENANCE_QUEUE
from workers.config import CloudinaryAccount, Settings

INTERVAL_S = 2


def firings(database_url: str) -> dict[str, tuple[int, str]]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        rows = conn.execute(
            "SELECT name, run_count, fired_by FROM mediasync_beat_state"
        )
        return {name: (count, fired_by) for name, count, fired_by in rows}


@pytest.fixture
def start_beat(committed_db: str, redis_url: str) -> Iterator:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": committed_db,
        "REDIS_URL": redis_url,
        "CLOUDINARY_URL": "cloudinary://k:s@demo",
        "MEDIASYNC_CANARY_INTERVAL": str(INTERVAL_S),
        "MEDIASYNC_LOG_LEVEL": "WARNING",
    }
    processes: list[subprocess.Popen] = []

    def start(name: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "mediasync", "beat", "--name", name],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.wait(15)


@pytest.mark.timeout(120)
def test_two_beats_fire_each_tick_once_and_the_standby_takes_over(
    start_beat, committed_db, redis_url
):
    first = start_beat("beat-a")
    wait_until(lambda: "worker-canary" in firings(committed_db), timeout=30)
    second = start_beat("beat-b")
    count_before = firings(committed_db)["worker-canary"][0]
    started = time.monotonic()
    time.sleep(5 * INTERVAL_S)
    count, fired_by = firings(committed_db)["worker-canary"]
    elapsed = time.monotonic() - started
    # one leader: only beat-a has fired, about once per interval (two leaders would double it)
    assert fired_by == "beat-a"
    assert 1 <= count - count_before <= elapsed / INTERVAL_S + 1
    # every recorded firing sent exactly one message (read between two snapshots: a firing
    # may land while we look)
    queue = redis.Redis.from_url(redis_url)
    # only the entries that send to the maintenance queue (the sweeps go to theirs)
    settings = Settings(
        database_url=committed_db,
        redis_url=redis_url,
        cloudinary=CloudinaryAccount.parse("cloudinary://k:s@demo"),
    )
    maintenance = {
        name
        for name, entry in beat_schedule(settings).items()
        if entry["options"]["queue"] == MAINTENANCE_QUEUE
    }

    def fired() -> int:
        return sum(c for n, (c, _) in firings(committed_db).items() if n in maintenance)

    try:
        low = fired()
        sent = queue.llen(MAINTENANCE_QUEUE)
        high = fired()
    finally:
        queue.close()
    assert low <= sent <= high

    first.send_signal(signal.SIGKILL)
    first.wait(10)
    killed_at = time.monotonic()
    wait_until(
        lambda: firings(committed_db)["worker-canary"][1] == "beat-b",
        timeout=30,
        what="the standby to fire",
    )
    assert time.monotonic() - killed_at < 30
    assert second.poll() is None
