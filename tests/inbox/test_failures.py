"""A bad event is retried with backoff, then left `failed`, without holding up the others."""

from datetime import timedelta

from sqlalchemy import select, text

from db.models import WebhookInbox
from tests.inbox import payloads as p
from tests.inbox.helpers import add_notification, inbox_row, live, log_for
from workers.inbox import queue as inbox_queue
from workers.inbox.batch import MAX_ATTEMPTS, apply_batch


def make_due(session, inbox_id):
    session.execute(
        text(
            "UPDATE webhook_inbox SET next_attempt_at = now() - interval '1 s' WHERE id = :id"
        ),
        {"id": inbox_id},
    )


def test_one_bad_event_does_not_poison_the_batch(db_session, poison):
    good_before = add_notification(db_session, p.upload("f/good1", 1))
    bad = add_notification(db_session, p.upload("f/poison", 1))
    good_after = add_notification(db_session, p.upload("f/good2", 1))
    result = apply_batch(db_session, fetcher=None)
    assert (result.claimed, result.failed, result.retry_in) == (3, 1, 10.0)
    assert inbox_row(db_session, good_before).status == "applied"
    assert inbox_row(db_session, good_after).status == "applied"
    assert live(db_session, "f/good2") is not None
    row = inbox_row(db_session, bad)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "boom" in row.last_error
    assert live(db_session, "f/poison") is None
    assert [e.status for e in log_for(db_session, bad)] == ["retry"]


def test_repeated_failure_ends_failed_and_retry_failed_brings_it_back(
    db_session, poison
):
    bad = add_notification(db_session, p.upload("f/poison", 1))
    for _ in range(MAX_ATTEMPTS):
        make_due(db_session, bad)
        apply_batch(db_session, fetcher=None)
    row = inbox_row(db_session, bad)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert "boom" in row.last_error
    assert [e.status for e in log_for(db_session, bad)][-1] == "failed"
    assert inbox_queue.status_counts(db_session)["failed"] == 1

    db_session.execute(text("DROP TRIGGER test_poison ON media_assets"))  # the fix
    assert inbox_queue.retry_failed(db_session, ids=[bad + 1000]) == 0
    assert inbox_queue.retry_failed(db_session) == 1
    apply_batch(db_session, fetcher=None)
    assert inbox_row(db_session, bad).status == "applied"
    assert live(db_session, "f/poison") is not None


def test_status_counts_and_overdue_rows(db_session):
    assert inbox_queue.has_overdue(db_session, timedelta(0)) is False
    first = add_notification(db_session, p.upload("f/c1", 1))
    add_notification(db_session, p.eager("f/c1"))
    make_due(db_session, first)
    assert inbox_queue.has_overdue(db_session, timedelta(0)) is True
    assert inbox_queue.has_overdue(db_session, timedelta(seconds=30)) is False
    assert inbox_queue.oldest_pending_age_s(db_session) >= 1
    assert inbox_queue.status_counts(db_session) == {
        "pending": 2,
        "applied": 0,
        "ignored": 0,
        "failed": 0,
    }
    apply_batch(db_session, fetcher=None)
    assert inbox_queue.status_counts(db_session)["applied"] == 2
    assert inbox_queue.oldest_pending_age_s(db_session) is None


def test_purge_removes_only_old_applied_and_ignored_rows(db_session):
    old = add_notification(db_session, p.upload("f/p1", 1))
    ignored = add_notification(db_session, {"notification_type": "nope"})
    recent = add_notification(db_session, p.upload("f/p2", 1))
    apply_batch(db_session, fetcher=None)
    pending = add_notification(db_session, p.upload("f/p3", 1))
    db_session.execute(
        text(
            "UPDATE webhook_inbox SET applied_at = now() - interval '31 days'"
            " WHERE id IN (:a, :b)"
        ),
        {"a": old, "b": ignored},
    )
    assert inbox_queue.purge_processed(db_session, 30) == 2
    remaining = set(db_session.scalars(select(WebhookInbox.id)))
    assert {recent, pending} <= remaining
    assert not {old, ignored} & remaining
