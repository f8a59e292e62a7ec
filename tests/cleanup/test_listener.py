"""The listener: NOTIFY bursts become a few drain kicks; catch-up, heartbeat, reconnects."""

import os
import threading

import psycopg
from celery.contrib.testing.worker import start_worker
from sqlalchemy import text

from db.migrate import migrate
from db.session import make_engine, make_sessionmaker
from db.urls import libpq_url
from mediasync.embedded import LocalPostgres
from tests.cleanup.conftest import remaining, seed
from tests.waiting import wait_until
from workers.celery_app import CLEANUP_QUEUE, app, configure
from workers.cleanup.listener import listener_heartbeats
from workers.cleanup.tasks import enqueue_drains
from workers.config import Settings


class Kicks:
    """Records what the listener asks for instead of sending Celery messages."""

    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[int] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()

    def __call__(self, count: int) -> None:
        with self.lock:
            if self.fail_first:
                self.fail_first -= 1
                raise ConnectionError("broker down")
            self.calls.append(count)

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.calls)


def add_and_delete(url: str, count: int, prefix: str = "l/") -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO media_assets (public_id)"
            " SELECT %s || n FROM generate_series(1, %s) n",
            (prefix, count),
        )
        conn.execute(
            "DELETE FROM media_assets WHERE public_id LIKE %s", (prefix + "%",)
        )


def listening(handle):
    return lambda: handle.listener.state == "listening" and handle.listener.connects


def test_a_burst_of_deletes_becomes_a_few_drain_kicks(committed_db, start_listener):
    kicks = Kicks()
    handle = start_listener(committed_db, kicks, parallel=4)
    wait_until(listening(handle), what="the listener to listen")

    add_and_delete(committed_db, 2000)

    wait_until(lambda: handle.listener.notifications == 2000, what="all notifications")
    assert 1 <= kicks.total <= 8
    assert max(kicks.calls) <= 4


def test_rows_deleted_while_no_listener_ran_are_caught_up_on_start(
    committed_db, start_listener
):
    add_and_delete(committed_db, 100)
    kicks = Kicks()

    start_listener(committed_db, kicks)

    wait_until(lambda: kicks.total >= 1, what="the catch-up kick")
    assert kicks.calls[0] == 1  # 100 rows: one drain handles them


def test_the_heartbeat_names_the_listener_and_goes_away_on_a_clean_stop(
    committed_db, start_listener, sessions
):
    handle = start_listener(committed_db, Kicks(), name="hb-test", heartbeat_s=0.2)

    def beat():
        with sessions.begin() as session:
            return [b for b in listener_heartbeats(session) if b.name == "hb-test"]

    [heartbeat] = wait_until(beat, what="a heartbeat row")
    assert heartbeat.pid == os.getpid()
    assert heartbeat.state == "listening"
    assert heartbeat.age_s < 5

    handle.stop()
    assert beat() == []


def test_a_killed_connection_is_replaced_and_notifications_flow_again(
    committed_db, start_listener
):
    kicks = Kicks()
    handle = start_listener(committed_db, kicks)
    wait_until(listening(handle), what="the listener to listen")

    with psycopg.connect(libpq_url(committed_db), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'mediasync-listener' AND datname = current_database()"
        )
    wait_until(lambda: handle.listener.connects >= 2, what="a reconnect")
    add_and_delete(committed_db, 3)

    wait_until(lambda: kicks.total >= 1, what="a kick after the reconnect")


def test_a_failed_kick_is_retried_rather_than_lost(committed_db, start_listener):
    kicks = Kicks(fail_first=2)
    handle = start_listener(committed_db, kicks)
    wait_until(listening(handle), what="the listener to listen")

    add_and_delete(committed_db, 1)

    wait_until(lambda: kicks.total == 1, what="the kick to get through")


def test_after_a_postgres_restart_deletes_reach_cloudinary_again(
    server_dir, start_listener, cloud, redis_url, account
):
    server = LocalPostgres(server_dir / "pg", durable=False)
    server.start()
    try:
        migrate(server.url, report=lambda _line: None)
        settings = Settings(
            database_url=server.url, redis_url=redis_url, cloudinary=account
        )
        configure(settings)
        engine = make_engine(server.url)
        sessions = make_sessionmaker(engine)
        with start_worker(
            app, pool="solo", perform_ping_check=False, queues=[CLEANUP_QUEUE]
        ):
            handle = start_listener(server.url, enqueue_drains)
            wait_until(listening(handle), what="the listener to listen")
            seed(cloud, sessions, 5)

            server.stop()
            wait_until(
                lambda: handle.listener.state in ("disconnected", "connecting"),
                timeout=15,
                what="the listener to notice",
            )
            server.start()
            wait_until(
                lambda: handle.listener.connects >= 2, timeout=15, what="a reconnect"
            )
            with sessions.begin() as session:
                session.execute(text("DELETE FROM media_assets"))

            wait_until(lambda: remaining(cloud) == [], what="the deletes to land")
            handle.stop()
        engine.dispose()
    finally:
        server.stop()


def test_a_listener_that_missed_two_heartbeats_is_shown_stale(sessions):
    beat = (
        "INSERT INTO mediasync_heartbeats (name, last_seen, details) VALUES"
        " (:name, now() - make_interval(secs => :age), CAST(:details AS jsonb))"
    )
    details = '{"state": "listening", "pid": 7, "heartbeat_s": 1, "stale_after_s": 3}'
    with sessions.begin() as session:
        session.execute(
            text(beat), {"name": "listener:alive", "age": 1, "details": details}
        )
        session.execute(
            text(beat), {"name": "listener:dead", "age": 4, "details": details}
        )
        # written before stale_after_s was recorded: the defaults (3 s beats) apply
        session.execute(
            text(beat),
            {"name": "listener:old", "age": 20, "details": '{"state": "listening"}'},
        )
    with sessions.begin() as session:
        found = {b.name: b for b in listener_heartbeats(session)}

    assert (found["alive"].state, found["alive"].stale) == ("listening", False)
    assert (found["dead"].state, found["dead"].stale) == ("stale", True)
    assert found["dead"].reported_state == "listening"
    assert found["old"].state == "stale"
    assert found["old"].stale_after_s == 7.5
