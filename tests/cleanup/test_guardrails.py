"""The delete guardrails (workers/cleanup/guard.py) against real PostgreSQL, the emulator
and the real SDK: a mass delete sends nothing, a trickle trips the breaker where it crosses
the limit, a copied database deletes nothing until adopted, the scope and the delay hold."""

import threading
import time
from dataclasses import replace

import pytest
from sqlalchemy import text

from db.session import make_engine, make_sessionmaker
from tests.cleanup.conftest import FAST, queue_statuses, remaining, seed
from tests.pg import create_database, database_name, drop_database
from tests.waiting import wait_until
from workers.cleanup import drain as cleanup
from workers.cleanup import guard
from workers.cleanup import queue as cleanup_queue
from workers.cleanup.tasks import enqueue_drains
from workers.config import DeleteScope
from workers.operations import deletes

DEFAULTS = guard.Guardrails()


def run_drain(sessions, cloudinary, governor, rails=DEFAULTS):
    policy = replace(FAST, guardrails=rails)
    return cleanup.drain(sessions, cloudinary, governor, holder="test", policy=policy)


def breaker(sessions):
    with sessions.begin() as session:
        return session.execute(
            text("SELECT tripped_at IS NOT NULL, details FROM mediasync_delete_breaker")
        ).one()


@pytest.mark.parametrize(
    "delete",
    [
        "DELETE FROM media_assets",
        "UPDATE media_assets SET deleted_at = now()",
    ],
    ids=["hard", "soft"],
)
def test_a_mass_delete_sends_nothing_and_holds_every_row(
    delete, cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, 5000)
    with sessions.begin() as session:
        session.execute(text("SET LOCAL mediasync.actor = 'cleanup-script'"))
        session.execute(text(delete))
    cloud.client.reset_counters()

    report = run_drain(sessions, cloudinary, governor)

    counters = cloud.client.counters()
    assert (counters["delete_resources"], counters["destroy"]) == (0, 0)
    assert len(remaining(cloud)) == 5000
    assert report.tripped
    assert report.claimed == 0
    assert queue_statuses(sessions) == {"held": 5000}
    tripped, details = breaker(sessions)
    assert tripped
    # the defaults: 500 rows, or 10 % of the 5,000 live before the burst
    assert (details["queued"], details["limit"]) == (5000, 500)
    assert details["actors"] == {"cleanup-script": 5000}
    assert len(details["sample_public_ids"]) == guard.SAMPLE_SIZE
    with sessions.begin() as session:
        logged = session.execute(
            text("SELECT details->>'held' FROM media_sync_log WHERE operation = :op"),
            {"op": guard.TRIP_OPERATION},
        ).scalar_one()
    assert logged == "5000"


def test_released_rows_are_sent_while_the_breaker_stays_tripped(
    cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, 300)
    with sessions.begin() as session:
        session.execute(text("DELETE FROM media_assets"))
    run_drain(sessions, cloudinary, governor)
    assert queue_statuses(sessions) == {"held": 300}
    # an operator releases 150 of them (workers/operations/deletes.py does this)
    with sessions.begin() as session:
        session.execute(
            text(
                "UPDATE cloudinary_cleanup_queue SET status = 'pending',"
                " released_at = now(), released_by = 'test', held_reason = NULL"
                " WHERE id IN (SELECT id FROM cloudinary_cleanup_queue ORDER BY id"
                " LIMIT 150)"
            )
        )
    cloud.client.reset_counters()

    report = run_drain(sessions, cloudinary, governor)

    assert report.tripped
    assert cloud.client.counters()["delete_resources"] == 2
    assert len(remaining(cloud)) == 150
    assert queue_statuses(sessions) == {"completed": 150, "held": 150}


def test_a_trickle_trips_the_breaker_where_it_crosses_the_limit(
    cloud, sessions, cloudinary, governor
):
    """Single-row deletes, each drained as its NOTIFY would have it: the first 120 (the
    limit) are sent, every one after is held, and nothing sent is taken back."""
    rails = guard.Guardrails(max_rows=120, max_share=0)
    public_ids = seed(cloud, sessions, 150)
    for public_id in public_ids:
        with sessions.begin() as session:
            session.execute(
                text("DELETE FROM media_assets WHERE public_id = :p"), {"p": public_id}
            )
        run_drain(sessions, cloudinary, governor, rails)

    assert queue_statuses(sessions) == {"completed": 120, "held": 30}
    assert remaining(cloud) == public_ids[120:]
    with sessions.begin() as session:
        held = session.execute(
            text(
                "SELECT public_id FROM cloudinary_cleanup_queue WHERE status = 'held'"
                " ORDER BY id"
            )
        ).scalars()
        assert list(held) == public_ids[120:]


def test_two_drains_side_by_side_never_send_more_than_the_limit(
    cloud, sessions, cloudinary, governor
):
    """Rows arrive while two drains claim at once: the count and the claim it admits share
    the claim turn, so no drain sends a row the breaker did not count."""
    rails = guard.Guardrails(max_rows=150, max_share=0)
    public_ids = seed(cloud, sessions, 400)
    stop = threading.Event()
    errors: list[BaseException] = []

    def drain_loop():
        try:
            while not stop.is_set():
                if not run_drain(sessions, cloudinary, governor, rails).claimed:
                    time.sleep(0.01)
        except BaseException as exc:  # reported below
            errors.append(exc)

    drains = [threading.Thread(target=drain_loop) for _ in range(2)]
    for thread in drains:
        thread.start()
    try:
        for start in range(0, 400, 10):
            with sessions.begin() as session:
                session.execute(
                    text("DELETE FROM media_assets WHERE public_id = ANY(:p)"),
                    {"p": public_ids[start : start + 10]},
                )
        wait_until(
            lambda: (
                "pending" not in queue_statuses(sessions)
                and "processing" not in queue_statuses(sessions)
            ),
            what="every row sent or held",
        )
    finally:
        stop.set()
        for thread in drains:
            thread.join(timeout=30)
    assert errors == []

    statuses = queue_statuses(sessions)
    assert statuses["completed"] <= 150
    assert statuses["completed"] + statuses["held"] == 400
    # a held row's asset is still in the cloud: none was deleted and then held
    with sessions.begin() as session:
        held = set(
            session.execute(
                text(
                    "SELECT public_id FROM cloudinary_cleanup_queue WHERE status = 'held'"
                )
            ).scalars()
        )
    assert held <= set(remaining(cloud))
    assert len(remaining(cloud)) == 400 - statuses["completed"]


def test_everyday_deletes_are_not_held(pipeline_settings, cloud, sessions):
    seed(cloud, sessions, 20)
    with sessions.begin() as session:
        session.execute(text("DELETE FROM media_assets"))

    wait_until(lambda: remaining(cloud) == [], timeout=5, what="20 deletes")
    # (the worker records the outcomes just after Cloudinary answered)
    wait_until(lambda: queue_statuses(sessions) == {"completed": 20}, timeout=5)
    assert not breaker(sessions)[0]


@pytest.fixture
def pipeline_settings(celery_worker, settings, start_listener):
    start_listener(settings.database_url, enqueue_drains)
    return settings


def test_assets_outside_the_scope_are_never_deleted(
    cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, 3, prefix="t/shop/")
    seed(cloud, sessions, 3, prefix="t/blog/")
    with sessions.begin() as session:
        session.execute(
            text(
                "UPDATE media_assets SET folder = 'products'"
                " WHERE public_id = (SELECT min(public_id) FROM media_assets"
                " WHERE public_id LIKE 't/blog/%')"
            )
        )
        session.execute(text("DELETE FROM media_assets"))
    scope = DeleteScope.parse("prefix:t/shop/,folder:products")

    run_drain(sessions, cloudinary, governor, guard.Guardrails(scope=scope))

    assert sorted(remaining(cloud)) == sorted(remaining(cloud, "t/blog/"))
    assert len(remaining(cloud, "t/blog/")) == 2  # the one in folder products went
    with sessions.begin() as session:
        skipped = session.execute(
            text(
                "SELECT last_error FROM cloudinary_cleanup_queue WHERE status = 'skipped'"
            )
        ).scalars()
        assert set(skipped) == {
            cleanup.SKIPPED_SCOPE.format(scope="prefix:t/shop/,folder:products")
        }


def test_a_delete_waits_for_the_delay_and_a_restore_within_it_keeps_the_asset(
    cloud, sessions, cloudinary, governor
):
    kept, deleted = seed(cloud, sessions, 2)
    rails = guard.Guardrails(delay_s=2)
    with sessions.begin() as session:
        session.execute(text("UPDATE media_assets SET deleted_at = now()"))

    early = run_drain(sessions, cloudinary, governor, rails)
    assert early.claimed == 0
    assert early.retry_at is not None
    assert 0 < early.retry_at - time.time() <= 2.5
    with sessions.begin() as session:  # the host app changes its mind about one
        session.execute(
            text("UPDATE media_assets SET deleted_at = NULL WHERE public_id = :p"),
            {"p": kept},
        )
    time.sleep(max(0.0, early.retry_at - time.time()) + 0.1)
    run_drain(sessions, cloudinary, governor, rails)

    assert remaining(cloud) == [kept]
    assert queue_statuses(sessions) == {"completed": 1, "skipped": 1}
    assert deleted not in remaining(cloud)


def test_a_copy_of_the_database_deletes_nothing_until_adopted(
    pg_server_url, committed_db, cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, 4)
    sessions.kw["bind"].dispose()  # CREATE DATABASE ... TEMPLATE needs it unused
    copy_name = database_name(committed_db) + "_copy"
    copy_url = create_database(
        pg_server_url, copy_name, template=database_name(committed_db), adopt=False
    )
    engine = make_engine(copy_url)
    copy = make_sessionmaker(engine)
    try:
        for each in (copy, sessions):
            with each.begin() as session:
                session.execute(
                    text(
                        "DELETE FROM media_assets WHERE public_id = ANY(SELECT"
                        " public_id FROM media_assets ORDER BY public_id LIMIT 2)"
                    )
                )
        run_drain(copy, cloudinary, governor)
        assert len(remaining(cloud)) == 4
        with copy.begin() as session:
            reasons = set(
                session.execute(
                    text("SELECT held_reason FROM cloudinary_cleanup_queue")
                ).scalars()
            )
        assert len(reasons) == 1
        assert reasons.pop().startswith(guard.IDENTITY_HOLD)

        run_drain(sessions, cloudinary, governor)  # the original goes on
        assert len(remaining(cloud)) == 2
        assert queue_statuses(sessions) == {"completed": 2}

        with copy.begin() as session:  # an operator says the copy is meant to delete
            adopted = deletes.adopt(session, "test", None)
        assert len(adopted.requeued) == 2
        run_drain(copy, cloudinary, governor)
        assert queue_statuses(copy) == {"completed": 2}  # (already gone: not found)
    finally:
        engine.dispose()
        drop_database(pg_server_url, copy_name)


def test_the_purge_takes_old_cancelled_rows_and_never_held_ones(cloud, sessions):
    seed(cloud, sessions, 3)
    with sessions.begin() as session:
        session.execute(text("DELETE FROM media_assets"))
        first, second, third = session.execute(
            text("SELECT id FROM cloudinary_cleanup_queue ORDER BY id")
        ).scalars()
        old = "now() - interval '40 days'"
        session.execute(
            text(
                "UPDATE cloudinary_cleanup_queue SET status = 'cancelled',"
                f" completed_at = {old} WHERE id = :id"
            ),
            {"id": first},
        )
        session.execute(
            text(
                "UPDATE cloudinary_cleanup_queue SET status = 'held',"
                f" held_reason = 'breaker: test', created_at = {old} WHERE id = :id"
            ),
            {"id": second},
        )
        session.execute(
            text(
                "UPDATE cloudinary_cleanup_queue SET status = 'completed',"
                " completed_at = now() WHERE id = :id"
            ),
            {"id": third},
        )

    with sessions.begin() as session:
        assert cleanup_queue.purge(session, days=30) == 1

    assert queue_statuses(sessions) == {"held": 1, "completed": 1}
