"""The webhook inbox as a queue: claim due rows in batches, apply each, record, retry, purge.

A batch is one transaction: claimed with FOR UPDATE SKIP LOCKED (any number of workers),
each row applied inside its own SAVEPOINT (one bad event does not poison the others), its
status and audit rows written in the same transaction as its effect. A worker killed
mid-batch rolls all of it back and the rows stay pending: exactly-once effect.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from db.models import SyncLogEntry, WebhookInbox
from workers import events
from workers.apply import Context, apply_event
from workers.apply_refetch import AssetFetcher
from workers.apply_rows import Outcome

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
MAX_ATTEMPTS = 5
STATUSES = ("pending", "applied", "ignored", "failed")

_CLAIM = text(
    """
    SELECT id, notification_type, body, signed_at, received_at, attempts
      FROM webhook_inbox
     WHERE status = 'pending' AND next_attempt_at <= now()
     ORDER BY next_attempt_at, id
     LIMIT :limit
       FOR UPDATE SKIP LOCKED
    """
)


@dataclass(frozen=True)
class BatchResult:
    claimed: int
    failed: int
    # seconds until the earliest row this batch put back for a retry, if any
    retry_in: float | None


def apply_batch(
    session: Session,
    *,
    fetcher: AssetFetcher | None,
    limit: int = BATCH_SIZE,
    row_delay_s: float = 0.0,
) -> BatchResult:
    """Claim up to `limit` due rows and apply them; the caller commits."""
    # Everything this transaction deletes, Cloudinary deleted first: queue no cleanup.
    session.execute(text("SET LOCAL mediasync.origin = 'cloudinary'"))
    rows = session.execute(_CLAIM, {"limit": limit}).all()
    failed, retry_in = 0, None
    for row in rows:
        delay = _apply_row(session, row, fetcher)
        if delay is not None:
            failed += 1
            retry_in = delay if retry_in is None else min(retry_in, delay)
        if row_delay_s:
            time.sleep(row_delay_s)  # testing aid: see Settings.apply_row_delay_ms
    return BatchResult(len(rows), failed, retry_in)


def _apply_row(
    session: Session, row: Any, fetcher: AssetFetcher | None
) -> float | None:
    """Apply one claimed row; on failure record it and return the retry delay."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    body: dict[str, Any] = row.body if isinstance(row.body, dict) else {}
    event_at = events.event_time(body, row.signed_at) or row.received_at
    try:
        with session.begin_nested():
            ctx = Context(session, fetcher, event_at, now)
            outcomes = apply_event(ctx, row.notification_type, body)
            status = "applied" if outcomes is not None else "ignored"
            if outcomes is None:
                outcomes = [Outcome("ignored", detail="type not handled")]
            elif not outcomes:
                outcomes = [Outcome("recorded", detail="names no asset")]
            _log(session, row, outcomes, started)
            session.execute(
                update(WebhookInbox)
                .where(WebhookInbox.id == row.id)
                .values(
                    status=status,
                    attempts=WebhookInbox.attempts + 1,
                    applied_at=func.now(),
                    last_error=None,
                )
            )
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise  # the database is gone: the whole batch rolls back, nothing to record
        return _record_failure(session, row, exc, started)
    except Exception as exc:
        # any bad event (odd payload, Cloudinary error, deadlock) is recorded and retried,
        # then left `failed` for an operator; it never stops the rest of the batch
        return _record_failure(session, row, exc, started)
    logger.info(
        "inbox %s %s: %s",
        row.id,
        row.notification_type,
        ", ".join(o.status for o in outcomes),
        extra={"inbox_id": row.id},
    )
    return None


def _record_failure(
    session: Session, row: Any, exc: BaseException, started: float
) -> float | None:
    attempts = row.attempts + 1
    error = f"{type(exc).__name__}: {exc}"[:1000]
    final = attempts >= MAX_ATTEMPTS
    # 10 s, 20 s, 40 s, 80 s: Cloudinary hiccups and deadlocks clear long before the end
    delay = 10.0 * 2 ** (attempts - 1)
    session.execute(
        update(WebhookInbox)
        .where(WebhookInbox.id == row.id)
        .values(
            status="failed" if final else "pending",
            attempts=attempts,
            last_error=error,
            next_attempt_at=func.now() + timedelta(seconds=delay),
        )
    )
    outcome = Outcome("failed" if final else "retry", detail=error)
    _log(session, row, [outcome], started)
    logger.warning(
        "inbox %s %s attempt %s failed%s: %s",
        row.id,
        row.notification_type,
        attempts,
        " for good" if final else f"; retry in {delay:.0f} s",
        type(exc).__name__,
        extra={"inbox_id": row.id},
    )
    return None if final else delay


def _log(session: Session, row: Any, outcomes: list[Outcome], started: float) -> None:
    duration_ms = (time.perf_counter() - started) * 1000
    for outcome in outcomes:
        details: dict[str, Any] = {"inbox_id": row.id}
        if outcome.detail:
            details["detail"] = outcome.detail
        session.add(
            SyncLogEntry(
                operation=row.notification_type,
                status=outcome.status,
                public_id=outcome.public_id,
                asset_id=outcome.asset_id,
                source="webhook",
                error_message=outcome.detail
                if outcome.status in ("retry", "failed")
                else None,
                duration_ms=duration_ms,
                details=details,
            )
        )
    session.flush()


@dataclass(frozen=True)
class DrainResult:
    claimed: int
    more: bool  # stopped at max_batches with rows still due
    retry_in: float | None


def drain(
    begin: Callable[[], AbstractContextManager[Session]],
    *,
    fetcher: AssetFetcher | None,
    row_delay_s: float = 0.0,
    limit: int = BATCH_SIZE,
    max_batches: int = 20,
) -> DrainResult:
    """Apply batches, each in its own transaction from `begin()`, until none is due."""
    claimed, retry_in = 0, None
    for _ in range(max_batches):
        with begin() as session:
            result = apply_batch(
                session, fetcher=fetcher, limit=limit, row_delay_s=row_delay_s
            )
        claimed += result.claimed
        if result.retry_in is not None:
            retry_in = min(result.retry_in, retry_in or result.retry_in)
        if result.claimed < limit:
            return DrainResult(claimed, False, retry_in)
    return DrainResult(claimed, True, retry_in)


def retry_failed(session: Session, ids: list[int] | None = None) -> int:
    """Put failed rows (all, or these ids) back to pending, due now; returns how many.

    The caller commits and then wakes the apply (tasks.inbox.apply_inbox.delay()).
    """
    query = (
        update(WebhookInbox)
        .where(WebhookInbox.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=func.now())
    )
    if ids is not None:
        query = query.where(WebhookInbox.id.in_(ids))
    return len(session.execute(query.returning(WebhookInbox.id)).all())


def status_counts(session: Session) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    rows = session.execute(
        select(WebhookInbox.status, func.count()).group_by(WebhookInbox.status)
    )
    for status, count in rows:
        counts[status] = count
    return counts


def oldest_pending_age_s(session: Session) -> float | None:
    """Seconds the oldest due row has waited (an SLO signal: stuck wake-ups show here)."""
    age = session.scalar(
        select(
            func.extract("epoch", func.now() - func.min(WebhookInbox.next_attempt_at))
        ).where(
            WebhookInbox.status == "pending", WebhookInbox.next_attempt_at <= func.now()
        )
    )
    return None if age is None else float(age)


def has_overdue(session: Session, older_than: timedelta) -> bool:
    """Whether a pending row has been due for longer than `older_than` (a lost wake-up)."""
    return bool(
        session.scalar(
            select(
                select(WebhookInbox.id)
                .where(
                    WebhookInbox.status == "pending",
                    WebhookInbox.next_attempt_at <= func.now() - older_than,
                )
                .exists()
            )
        )
    )


def purge_processed(session: Session, older_than_days: int, limit: int = 10_000) -> int:
    """Delete up to `limit` applied/ignored rows older than the retention; returns how many.

    Failed rows stay until an operator retries them.
    """
    doomed = (
        select(WebhookInbox.id)
        .where(
            WebhookInbox.status.in_(("applied", "ignored")),
            WebhookInbox.applied_at < func.now() - timedelta(days=older_than_days),
        )
        .limit(limit)
        .scalar_subquery()
    )
    result = session.execute(delete(WebhookInbox).where(WebhookInbox.id.in_(doomed)))
    return int(getattr(result, "rowcount", 0))
