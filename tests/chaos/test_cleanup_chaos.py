"""Cleanup under faults, with real worker, listener and beat processes and the emulator as
Cloudinary: (a) a delete under a 420 whose reset is near, (b) a worker SIGKILLed mid-drain,
(c) a listener SIGKILLed while rows are deleted.

Quick profile by default (small sizes; the properties asserted: no row lost, nothing
destroyed one by one, at most one batch re-sent per kill); MEDIASYNC_CHAOS=full runs the
sizes of issue 13 and asserts its time targets too. Each scenario prints its counts.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cloudinary_emulator import Emulator
from db.session import make_engine, make_sessionmaker
from tests.chaos.cleanup_faults import (
    REPO,
    delete_rows,
    deleted_twice,
    floor_calls,
    processes,
    resent_ids,
    seed,
    settled,
    sizes,
    statuses,
)
from tests.waiting import wait_until
from tests.webhook_receiver.helpers import forget_stale_broker_pools, receiver_app
from workers.celery_app import configure
from workers.config import CloudinaryAccount, Settings
from workers.operations import cleanup as cleanup_ops

SIZES = sizes()
TOKEN = "cleanup-chaos-token"


@pytest.fixture(scope="module")
def cleanup_cloud() -> Iterator[Emulator]:
    # its own account: the budget faults here must not reach other scenarios' emulator
    with Emulator(cloud_name="chaos-cleanup", rate_limit=5000) as em:
        yield em


@pytest.fixture
def em(cleanup_cloud: Emulator) -> Emulator:
    cleanup_cloud.reset()
    cleanup_cloud.client.notifications(False)
    return cleanup_cloud


@pytest.fixture
def chaos_settings(committed_db: str, redis_url: str, em: Emulator) -> Settings:
    settings = Settings(
        database_url=committed_db,
        redis_url=redis_url,
        cloudinary=CloudinaryAccount.parse(em.cloudinary_url),
    )
    configure(settings)  # this process pings the workers and publishes on their broker
    return settings


@pytest.fixture
def db(committed_db: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(committed_db)
    yield make_sessionmaker(engine)
    engine.dispose()


def report(scenario: str, **counts: object) -> None:
    profile = "full" if SIZES.full else "quick"
    print(f"\n[chaos cleanup {profile}] {scenario}: " + ", ".join(
        f"{name}={value}" for name, value in counts.items()
    ))  # fmt: skip


def test_a_delete_under_a_420_with_a_near_reset_waits_for_it_instead_of_destroying(
    em, chaos_settings, db, tmp_path
):
    rows, reset_in = SIZES.rate_limited_rows, SIZES.reset_in_s
    seed(em, db, rows)
    with processes(chaos_settings, tmp_path) as procs:
        procs.workers("w1", "w2")
        procs.listener("l1")
        em.client.reset_counters()
        # the Admin budget is spent; it comes back `reset_in` s from now
        em.client.set_rate_limit(5000, remaining=0, reset_in=reset_in)
        started = time.monotonic()
        delete_rows(db)
        wait_until(
            lambda: settled(em, db, rows),
            timeout=reset_in + 60,
            interval=0.1,
            what=f"the queue to settle\n{procs.log_tail()}",
        )
        seconds = time.monotonic() - started
    counters = em.client.counters()
    calls, floor = counters["delete_resources"], floor_calls(rows)
    report(
        "420, reset near",
        rows=rows,
        reset_in_s=reset_in,
        delete_resources_calls=calls,
        floor=floor,
        ratio=round(calls / floor, 3),
        destroy_calls=counters["destroy"],
        seconds_to_done=round(seconds, 1),
        ids_sent_twice=resent_ids(db),
    )
    assert counters["destroy"] == 0
    # each worker learns of the 420 from at most one refused call; then all wait
    assert calls <= floor + 2
    # waiting for a reset is not a failed attempt: every row was answered at its first
    assert resent_ids(db) == 0
    if SIZES.full:
        assert calls <= 1.1 * floor
        assert seconds <= 35


def test_a_worker_killed_mid_drain_is_replaced_within_seconds(
    em, chaos_settings, db, tmp_path
):
    rows = SIZES.killed_rows
    floor = floor_calls(rows)
    seed(em, db, rows)
    with processes(chaos_settings, tmp_path) as procs:
        doomed = procs.workers("doomed")[0]
        procs.listener("l1")
        procs.beat()  # its reclaim hands a dead drain's rows on
        em.client.reset_counters()
        # every call takes a while, so the kill lands inside one with work left behind
        em.client.fault("delete_resources", latency_ms=150, count=100_000)
        delete_rows(db)
        wait_until(
            lambda: (
                em.client.counters()["delete_resources"] >= floor // 3
                and statuses(db).get("processing")
            ),
            timeout=60,
            interval=0.01,
            what="the drain to be a third done, a batch in flight",
        )
        killed_at = procs.kill(doomed)
        in_flight = statuses(db).get("processing", 0)
        procs.workers("fresh")
        wait_until(
            lambda: settled(em, db, rows),
            timeout=90,
            interval=0.1,
            what=f"the queue to settle\n{procs.log_tail()}",
        )
        settle_s = time.monotonic() - killed_at
    counters = em.client.counters()
    resent = resent_ids(db)
    report(
        "worker SIGKILLed mid-drain",
        rows=rows,
        in_flight_at_kill=in_flight,
        ids_resent=resent,
        deleted_twice=deleted_twice(db),
        delete_resources_calls=counters["delete_resources"],
        floor=floor,
        seconds_to_settle_after_kill=round(settle_s, 1),
    )
    assert statuses(db) == {"completed": rows}
    assert resent == in_flight <= 100
    # the killed call may have gone through: its re-send then found the assets gone
    assert deleted_twice(db) == 0
    assert counters["destroy"] == 0
    if SIZES.full:
        assert settle_s <= 20


def test_a_killed_listener_shows_stale_and_rows_deleted_meanwhile_still_drain(
    em, chaos_settings, db, tmp_path
):
    rows = SIZES.listener_rows
    seed(em, db, rows)
    with processes(chaos_settings, tmp_path) as procs:
        procs.workers("w1")
        doomed = procs.listener("doomed")
        killed_at = procs.kill(doomed)
        delete_rows(db)  # its NOTIFYs reach nobody

        wait_until(
            lambda: listener_state(db, "doomed") == "stale",
            timeout=15,
            interval=0.1,
            what="cleanup status to call the dead listener stale",
        )
        stale_s = time.monotonic() - killed_at
        assert "listener doomed: STALE" in cli_status(procs.env)
        assert api_listener_state(chaos_settings, "doomed") == "stale"
        # no beat runs here: only a listener's catch-up can find these rows
        assert statuses(db) == {"pending": rows}

        restarted = time.monotonic()
        procs.listener("second")
        wait_until(
            lambda: settled(em, db, rows),
            timeout=60,
            interval=0.1,
            what=f"the queue to settle\n{procs.log_tail()}",
        )
        done_s = time.monotonic() - restarted
        assert listener_state(db, "second") == "listening"
    report(
        "listener SIGKILLed",
        rows_deleted_while_dead=rows,
        seconds_to_stale=round(stale_s, 1),
        seconds_to_done_after_restart=round(done_s, 1),
        completed=statuses(db).get("completed", 0),
    )
    # two heartbeats (3 s) and one wait for NOTIFY: 7.5 s, not a day
    assert stale_s <= 10


def listener_state(db: sessionmaker[Session], name: str) -> str | None:
    with db.begin() as session:
        found = [b for b in cleanup_ops.status(session).listeners if b.name == name]
    return found[0].state if found else None


def cli_status(env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "mediasync", "cleanup", "status"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def api_listener_state(settings: Settings, name: str) -> str | None:
    """What the operator API's GET /api/cleanup says of the listener."""
    forget_stale_broker_pools()
    with receiver_app(dataclasses.replace(settings, api_token=TOKEN)) as app:
        answer = app.test_client().get(
            "/api/cleanup", headers={"Authorization": f"Bearer {TOKEN}"}
        )
    assert answer.status_code == 200
    found = [b for b in answer.get_json()["listeners"] if b["name"] == name]
    return found[0]["state"] if found else None
