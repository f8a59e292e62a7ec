"""A batch is applied together: a handful of statements whatever its size, the same mirror
as applying its events one at a time, and row by row only when one of them fails."""

import logging
import random
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from db.models import MediaAsset
from tests.inbox import payloads as p
from tests.inbox.helpers import add_notification, inbox_row, live
from workers.inbox import batch as inbox
from workers.inbox import queue as inbox_queue
from workers.inbox.batch import apply_batch

FALLBACK = "applying row by row"


def mixed_events(prefix: str) -> list[dict]:
    """Uploads, then tag/context/move/rename diffs and deletes of some of those assets, and
    a delete of an asset never seen (it leaves a tombstone), in one batch."""
    bodies = [p.upload(f"{prefix}/{n}", 100 + n, t=n) for n in range(30)]
    bodies += [
        p.tags_changed(f"{prefix}/{n}", [f"t{n}"], ["catalog"], t=60) for n in range(8)
    ]
    bodies += [
        p.context_changed(f"{prefix}/{n}", added={"k": str(n)}, t=61)
        for n in range(8, 12)
    ]
    bodies += [p.move(f"{prefix}/{n}", "moved", t=62) for n in range(12, 15)]
    bodies += [
        p.rename(f"{prefix}/{n}", f"{prefix}/renamed-{n}", t=63) for n in range(15, 18)
    ]
    bodies += [p.delete(f"{prefix}/{n}", 100 + n, t=64) for n in range(20, 30)]
    bodies.append(p.delete(f"{prefix}/never-seen", 7, t=65))
    return bodies


def mirror(session, prefix: str) -> list[tuple]:
    """The rows under `prefix`, with the prefix taken out of every value that holds it."""
    named = {p.asset_id_for(f"{prefix}{n}"): str(n) for n in [*range(30), "never-seen"]}
    session.expire_all()
    rows = session.scalars(
        select(MediaAsset)
        .where(MediaAsset.public_id.startswith(prefix))
        .order_by(MediaAsset.public_id, MediaAsset.id)
    )
    return [
        (
            r.public_id.removeprefix(prefix),
            named.get(r.asset_id, r.asset_id),
            r.version,
            r.folder if r.folder == "moved" else r.folder.removeprefix(prefix[:-1]),
            sorted(r.tags),
            r.context,
            r.deleted_at is None,
            r.last_event_at,
        )
        for r in rows
    ]


@pytest.fixture
def statements(db_session):
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = db_session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def test_a_batch_of_mixed_events_costs_a_handful_of_statements(
    db_session, statements, caplog
):
    ids = [add_notification(db_session, body) for body in mixed_events("b")]
    statements.clear()
    with caplog.at_level(logging.INFO, logger="workers.inbox.batch"):
        result = apply_batch(db_session, fetcher=None)
    assert (result.claimed, result.failed) == (len(ids), 0)
    assert FALLBACK not in caplog.text
    # origin, claim, savepoint, lock, load rows, load cleanups, update, ids, insert,
    # inbox statuses, audit rows, release: about a dozen for 65 events, not ~10 per event
    assert len(statements) <= 15, statements
    assert {inbox_row(db_session, i).status for i in ids} == {"applied"}
    assert live(db_session, "b/3").tags == ["t3"]
    assert live(db_session, "b/9").context == {"k": "9"}
    assert live(db_session, "b/13").folder == "moved"
    assert live(db_session, "b/16") is None
    assert live(db_session, "b/renamed-16").asset_id == p.asset_id_for("b/16")
    assert live(db_session, "b/25") is None
    assert live(db_session, "b/never-seen") is None
    assert len([r for r in mirror(db_session, "b/") if r[0] == "never-seen"]) == 1


def test_a_batch_leaves_the_mirror_one_event_at_a_time_would(db_session):
    for body in mixed_events("together"):
        add_notification(db_session, body)
    apply_batch(db_session, fetcher=None)
    for body in mixed_events("alone"):
        add_notification(db_session, body)
        apply_batch(db_session, fetcher=None, limit=1)
    assert mirror(db_session, "together/") == mirror(db_session, "alone/")
    assert len(mirror(db_session, "alone/")) == 31


def test_an_event_that_fails_sends_only_its_batch_row_by_row(
    db_session, poison, caplog
):
    good = add_notification(db_session, p.upload("rb/good", 1))
    bad = add_notification(db_session, p.upload("f/poison", 1))
    with caplog.at_level(logging.INFO, logger="workers.inbox.batch"):
        result = apply_batch(db_session, fetcher=None)
    assert FALLBACK in caplog.text
    assert (result.claimed, result.failed) == (2, 1)
    assert inbox_row(db_session, good).status == "applied"
    assert live(db_session, "rb/good") is not None
    assert inbox_row(db_session, bad).status == "pending"
    assert live(db_session, "f/poison") is None


def versions_shuffled(prefix: str, seed: int) -> list[dict]:
    """For each of 25 assets: three upload versions and a delete of the middle one (so the
    newest upload, made after it, must win), in a shuffled order."""
    bodies = []
    for n in range(25):
        public_id = f"{prefix}/{n}"
        bodies += [p.upload(public_id, 100 + v, t=10 * v) for v in range(3)]
        bodies.append(p.delete(public_id, 101, t=15))
    random.Random(seed).shuffle(bodies)  # noqa: S311 -- a reproducible order, not a secret
    return bodies


def test_concurrent_drains_leave_the_mirror_one_drain_would(sessions):
    """Four drains at once, small batches, the same identities spread over all of them:
    the identity locks keep them apart and the final mirror is the serial one."""
    with sessions.begin() as session:
        for body in versions_shuffled("conc", seed=7):
            add_notification(session, body)

    def drain() -> int:
        @contextmanager
        def begin():
            with sessions.begin() as session:
                yield session

        return inbox.drain(begin, fetcher=None, limit=7, max_batches=1000).claimed

    with ThreadPoolExecutor(4) as pool:
        claimed = list(pool.map(lambda _: drain(), range(4)))
    assert sum(claimed) == 100

    with sessions.begin() as session:
        for body in versions_shuffled("serial", seed=7):
            add_notification(session, body)
            apply_batch(session, fetcher=None, limit=1)
    with sessions.begin() as session:
        assert inbox_queue.status_counts(session) == {
            "pending": 0,
            "applied": 200,
            "ignored": 0,
            "failed": 0,
        }
        concurrent, serial = mirror(session, "conc/"), mirror(session, "serial/")
    assert concurrent == serial
    # one live row per asset, at the newest version (uploaded after the delete)
    assert [(r[2], r[6]) for r in concurrent if r[6]] == [(102, True)] * 25
