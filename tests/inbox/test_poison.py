"""Poison isolation: a row that cannot be read or applied fails alone, at once when no retry
could help, and never holds the others back by more than one batch."""

import hashlib
import secrets
import time

from sqlalchemy import text

from db.session import make_engine, make_sessionmaker
from tests.inbox import payloads as p
from tests.inbox.helpers import add_notification, inbox_row, live, log_for
from workers.inbox.batch import apply_batch, drain
from workers.inbox.locks import MAX_KEY_LOCKS


def add_raw(session, raw: str, notification_type: str = "upload") -> int:
    """An inbox row holding exactly `raw` as its jsonb body, as a direct INSERT would (the
    receiver refuses such bodies; the worker must survive them anyway)."""
    return session.execute(
        text(
            "INSERT INTO webhook_inbox (digest, notification_type, body)"
            " VALUES (:digest, :type, CAST(:raw AS jsonb)) RETURNING id"
        ),
        {
            "digest": hashlib.sha256(raw.encode()).hexdigest(),
            "type": notification_type,
            "raw": raw,
        },
    ).scalar_one()


def status_of(session, inbox_id: int) -> tuple[str, int, str | None]:
    """Read without the body: the ORM would decode it, which is what fails here."""
    row = session.execute(
        text("SELECT status, attempts, last_error FROM webhook_inbox WHERE id = :id"),
        {"id": inbox_id},
    ).one()
    return row.status, row.attempts, row.last_error


def test_a_body_python_cannot_read_back_fails_alone_and_at_once(db_session):
    # jsonb keeps 1e5000 exactly and gives back a 5,001-digit integer Python refuses
    bad = add_raw(db_session, '{"notification_type": "upload", "bytes": 1e5000}')
    also_bad = add_raw(db_session, '{"notification_type": "upload", "n": -2.5e4400}')
    good = add_notification(db_session, p.upload("poison/good", 1))
    result = apply_batch(db_session, fetcher=None)
    assert (result.claimed, result.failed, result.retry_in) == (3, 2, None)
    for inbox_id in (bad, also_bad):
        status, attempts, error = status_of(db_session, inbox_id)
        assert (status, attempts) == ("failed", 1)
        assert "ValueError" in error
        assert [e.status for e in log_for(db_session, inbox_id)] == ["failed"]
    assert inbox_row(db_session, good).status == "applied"
    assert live(db_session, "poison/good") is not None


def test_notifications_after_an_unreadable_row_apply_within_one_drain(committed_db):
    engine = make_engine(committed_db)
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as session:
            bad = add_raw(session, '{"notification_type": "upload", "bytes": 1e5000}')
            for n in range(200):
                add_notification(session, p.upload(f"poison/after-{n}", 1, t=n))
        started = time.monotonic()
        result = drain(sessions.begin, fetcher=None)
        elapsed = time.monotonic() - started
        assert result.claimed == 201
        with sessions.begin() as session:
            statuses = dict(
                session.execute(
                    text("SELECT status, count(*) FROM webhook_inbox GROUP BY status")
                ).all()
            )
            assert statuses == {"applied": 200, "failed": 1}
            assert status_of(session, bad)[0] == "failed"
        # measured, not asserted tightly: one drain of 201 rows takes well under a second
        print(f"201 rows, one unreadable: drained in {elapsed:.2f} s")
    finally:
        engine.dispose()


def test_a_public_id_too_long_for_the_index_fails_at_once(db_session):
    # past what a btree index entry may hold (about 2.7 kB), and not compressible
    long_id = secrets.token_hex(4500)
    bad = add_notification(db_session, p.upload(long_id, 1))
    good = add_notification(db_session, p.upload("poison/fine", 1))
    result = apply_batch(db_session, fetcher=None)
    assert result.failed == 1
    row = inbox_row(db_session, bad)
    assert (row.status, row.attempts) == ("failed", 1)  # a retry could not help
    assert "ProgramLimitExceeded" in row.last_error
    assert inbox_row(db_session, good).status == "applied"


def test_a_delete_naming_thousands_of_assets_takes_a_bounded_number_of_locks(
    committed_db,
):
    many = MAX_KEY_LOCKS * 2
    engine = make_engine(committed_db)
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as session:
            for n in range(0, many, 500):
                add_notification(session, p.upload(f"many/{n}", 1))
            apply_batch(session, fetcher=None)
        with sessions.begin() as session:
            body = p.delete("many/0", 1, t=50)
            body["resources"] = [
                {
                    **body["resources"][0],
                    "public_id": f"many/{n}",
                    "asset_id": p.asset_id_for(f"many/{n}"),
                }
                for n in range(many)
            ]
            deleted = add_notification(session, body)
            apply_batch(session, fetcher=None)
            locks = session.execute(
                text(
                    "SELECT count(*) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                )
            ).scalar_one()
            # the one apply lock, taken exclusively, not one per named key
            assert locks == 1
            assert inbox_row(session, deleted).status == "applied"
        with sessions.begin() as session:
            assert live(session, "many/500") is None
            assert (
                session.execute(
                    text("SELECT count(*) FROM media_assets WHERE deleted_at IS NULL")
                ).scalar_one()
                == 0
            )
    finally:
        engine.dispose()
