"""The webhook inbox as a queue: claim due rows in batches, apply them, record the outcome
(retries, counts and the purge: workers/inbox/queue.py).

A batch is one transaction: claimed with FOR UPDATE SKIP LOCKED (any number of workers),
applied together (a handful of statements for the whole batch), with each row's status and
audit rows written in the same transaction as its effect; should one event fail, the batch
is applied again row by row, each in its own SAVEPOINT, so one bad event does not poison
the others. A worker killed mid-batch rolls all of it back and the rows stay pending:
exactly-once effect.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import psycopg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from db import json_codec
from workers import sql
from workers.inbox import events
from workers.inbox import records as inbox_record
from workers.inbox.asset_store import AssetStore
from workers.inbox.events import Identity
from workers.inbox.handlers import Context, apply_event, keys_of
from workers.inbox.records import Applied
from workers.inbox.refetch import AssetFetcher
from workers.inbox.stamps import stamp
from workers.inbox.writes import Outcome

logger = logging.getLogger(__name__)

# Rows per claim: each batch costs a handful of statements whatever its size, so bigger
# batches amortize them (100 -> 500 took one process from ~1,150 to ~1,750 events/s here);
# a transaction of 500 events still commits in well under a second.
BATCH_SIZE = 500
MAX_ATTEMPTS = 5
# Tries of a batch that lost a deadlock before it goes row by row.
CONFLICT_ATTEMPTS = 3

_SETTINGS = text(
    # Everything this transaction deletes, Cloudinary deleted first: queue no cleanup.
    "SET LOCAL mediasync.origin = 'cloudinary';"
    # Every statement of an apply looks rows up by key, and an index scan is the right plan
    # for each, whatever the planner believes. Its beliefs lag: statistics follow a growing
    # table only after autovacuum, and a worker keeps a prepared statement's generic plan,
    # made while the table was small, until an ANALYZE invalidates it. Left free it
    # seq-scanned media_assets and the inbox per batch (40 ms at 40,000 rows, growing; see
    # tests/inbox/test_plans.py), and bitmap-scanned the claim's index:
    # a bitmap scan visits the heap page of every entry applied rows left behind until
    # vacuum, where an index scan marks those entries dead once and skips them after.
    " SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off"
)

# The body as text, decoded row by row: see queries.sql.
_CLAIM = text(sql.load("workers.inbox")["claim_batch"])


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
    """Claim up to `limit` due rows and apply them; the caller commits.

    The batch is applied together first: its rows locked and loaded in a few statements,
    every event applied in memory, the changes and the records written set-based. If
    anything in it fails, that attempt is rolled back and the batch is applied again one
    row at a time, each in its own savepoint, so the bad event is recorded for a retry and
    the others still apply.
    """
    session.execute(_SETTINGS)
    claimed = session.execute(_CLAIM, {"limit": limit}).all()
    if not claimed:
        return BatchResult(0, 0, None)
    rows: list[Claimed] = []
    unreadable = 0
    for found in claimed:
        started = time.perf_counter()
        try:
            rows.append(Claimed.read(found))
        except Exception as exc:  # whatever the decoder raises, this row fails for good
            unreadable += 1
            _record_failure(session, found, exc, started, permanent=True)
    if not rows:
        return BatchResult(len(claimed), unreadable, None)
    # an event that failed in the batch keeps its error: it is not tried twice in one go
    failed_event: EventFailed | None = None
    try:
        results = _apply_together_retrying(session, rows, fetcher, row_delay_s)
    except EventFailed as exc:
        failed_event = exc
        logger.info("inbox batch of %d: %s; applying row by row", len(rows), exc)
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise  # the database is gone: the whole batch rolls back, nothing to record
        logger.info("inbox batch of %d: %s; applying row by row", len(rows), exc)
    except Exception as exc:
        logger.info(
            "inbox batch of %d: %s; applying row by row", len(rows), type(exc).__name__
        )
    else:
        for result in results:
            _log_applied(result)
        return BatchResult(len(claimed), unreadable, None)
    failed, retry_in = unreadable, None
    for row in rows:
        if failed_event is not None and row.id == failed_event.inbox_id:
            error, started = failed_event.error, failed_event.started
            delay = _record_failure(session, row, error, started)
        else:
            delay = _apply_row(session, row, fetcher)
        if delay is not False:
            failed += 1
        if isinstance(delay, float):
            retry_in = delay if retry_in is None else min(retry_in, delay)
        if row_delay_s:
            time.sleep(row_delay_s)  # testing aid: see Settings.apply_row_delay_ms
    return BatchResult(len(claimed), failed, retry_in)


class Claimed(NamedTuple):
    """A claimed inbox row, its body decoded."""

    id: int
    digest: str
    notification_type: str
    body: dict[str, Any]
    signed_at: datetime | None
    received_at: datetime
    attempts: int
    keys: tuple[list[Identity | None], list[str | None]]  # apply.keys_of(body)

    @classmethod
    def read(cls, row: Any) -> Claimed:
        body = json_codec.loads(row.body)
        body = body if isinstance(body, dict) else {}
        return cls(
            row.id,
            row.digest,
            row.notification_type,
            body,
            row.signed_at,
            row.received_at,
            row.attempts,
            keys_of(body),
        )


class EventFailed(Exception):
    """One event of a batch applied together raised (a Cloudinary error, an odd payload)."""

    def __init__(self, inbox_id: int, error: Exception, started: float) -> None:
        super().__init__(f"inbox {inbox_id}: {type(error).__name__}")
        self.inbox_id, self.error, self.started = inbox_id, error, started


def _apply_together_retrying(
    session: Session,
    rows: Sequence[Claimed],
    fetcher: AssetFetcher | None,
    row_delay_s: float,
) -> list[Applied]:
    """The batch in a savepoint, tried again (a few times) when it lost a deadlock: keys
    a batch meets only as it goes (a row's current name, an Admin API answer) are locked
    out of order, so two workers can deadlock; PostgreSQL cancels one, which simply
    tries again once the other is through."""
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            with session.begin_nested():
                return _apply_together(session, rows, fetcher, row_delay_s)
        except DBAPIError as exc:
            if not _conflict(exc) or attempt == CONFLICT_ATTEMPTS:
                raise
            logger.info("inbox batch of %d: %s; again", len(rows), type(exc.orig))
            time.sleep(random.uniform(0.01, 0.1))  # noqa: S311 -- jitter, not secrecy
    raise AssertionError("unreachable")  # pragma: no cover


def _conflict(exc: DBAPIError) -> bool:
    """A deadlock or serialization failure: nothing wrong with the event, try again."""
    return isinstance(
        exc.orig, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure
    )


def _apply_together(
    session: Session,
    rows: Sequence[Claimed],
    fetcher: AssetFetcher | None,
    row_delay_s: float,
) -> list[Applied]:
    store = AssetStore(session)
    identities: list[Identity | None] = []
    asset_ids: list[str | None] = []
    for row in rows:
        identities += row.keys[0]
        asset_ids += row.keys[1]
    store.load(identities, asset_ids)
    store.load_current_names()
    results = []
    for row in rows:
        started = time.perf_counter()
        try:
            results.append(_apply_event(store, row, fetcher))
        except DBAPIError:
            raise  # not this event's own fault alone: the batch goes row by row
        except Exception as exc:
            raise EventFailed(row.id, exc, started) from exc
        if row_delay_s:
            time.sleep(row_delay_s)  # testing aid: see Settings.apply_row_delay_ms
    store.flush(datetime.now(UTC), last=True)
    inbox_record.record_applied(session, results)
    return results


def event_stamp(row: Claimed) -> str:
    """The event's place in the order of writes (workers/inbox/stamps.py): Cloudinary's time,
    the version it carries, and its digest for equal ones."""
    body = row.body
    event_at = events.event_time(body, row.signed_at) or row.received_at
    return stamp(event_at, events.version(body), row.digest[:8])


def _apply_event(
    store: AssetStore, row: Claimed, fetcher: AssetFetcher | None
) -> Applied:
    started = time.perf_counter()
    ctx = Context(store, fetcher, event_stamp(row), datetime.now(UTC))
    outcomes = apply_event(ctx, row.notification_type, row.body)
    status = "applied" if outcomes is not None else "ignored"
    if outcomes is None:
        outcomes = [Outcome("ignored", detail="type not handled")]
    elif not outcomes:
        outcomes = [Outcome("recorded", detail="names no asset")]
    duration_ms = (time.perf_counter() - started) * 1000
    return Applied(row.id, row.notification_type, status, outcomes, duration_ms)


def _apply_row(
    session: Session, row: Claimed, fetcher: AssetFetcher | None
) -> float | bool:
    """Apply one claimed row in its own savepoint; on failure record it and return the
    retry delay (True: failed for good; False: applied)."""
    started = time.perf_counter()
    try:
        with session.begin_nested():
            store = AssetStore(session)
            store.load(*row.keys)
            result = _apply_event(store, row, fetcher)
            store.flush(datetime.now(UTC), last=True)
            inbox_record.record_applied(session, [result])
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise  # the database is gone: the whole batch rolls back, nothing to record
        return _record_failure(
            session,
            row,
            exc,
            started,
            permanent=_permanent(exc),
            conflict=_conflict(exc),
        )
    except Exception as exc:
        # any bad event (odd payload, Cloudinary error, deadlock) is recorded and retried,
        # then left `failed` for an operator; it never stops the rest of the batch
        return _record_failure(session, row, exc, started)
    _log_applied(result)
    return False


def _permanent(exc: DBAPIError) -> bool:
    """Errors the same event meets on every attempt: a value too long for an index, one
    out of a column's range. Retrying them only delays the operator's look."""
    return isinstance(
        exc.orig, psycopg.errors.DataError | psycopg.errors.ProgramLimitExceeded
    )


def _log_applied(result: Applied) -> None:
    logger.info(
        "inbox %s %s: %s",
        result.inbox_id,
        result.notification_type,
        ", ".join(o.status for o in result.outcomes),
        extra={"inbox_id": result.inbox_id},
    )


def _record_failure(
    session: Session,
    row: Any,
    exc: BaseException,
    started: float,
    *,
    permanent: bool = False,
    conflict: bool = False,
) -> float | bool:
    """Record a failed attempt; the retry delay, or True when the row failed for good.

    `conflict`: a deadlock with another worker, which costs no attempt and is retried in
    a second (the other transaction is through by then)."""
    attempts = row.attempts if conflict else row.attempts + 1
    error = f"{type(exc).__name__}: {exc}"[:1000]
    final = permanent or attempts >= MAX_ATTEMPTS
    # 10 s, 20 s, 40 s, 80 s: Cloudinary hiccups clear long before the end
    delay = 1.0 if conflict else 10.0 * 2 ** (attempts - 1)
    outcome = Outcome("failed" if final else "retry", detail=error)
    duration_ms = (time.perf_counter() - started) * 1000
    inbox_record.record_failure(
        session,
        Applied(row.id, row.notification_type, "failed", [outcome], duration_ms),
        attempts=attempts,
        error=error,
        final=final,
        delay_s=delay,
    )
    logger.warning(
        "inbox %s %s attempt %s failed%s: %s",
        row.id,
        row.notification_type,
        attempts,
        " for good" if final else f"; retry in {delay:.0f} s",
        type(exc).__name__,
        extra={"inbox_id": row.id},
    )
    return True if final else delay


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
    on_backlog: Callable[[], None] | None = None,
) -> DrainResult:
    """Apply batches, each in its own transaction from `begin()`, until none is due.

    `on_backlog` is called once, after the first full batch: there is more than one batch
    to do, and another drain beside this one would halve the wait (SKIP LOCKED keeps them
    apart).
    """
    claimed, retry_in = 0, None
    for _ in range(max_batches):
        with begin() as session:
            result = apply_batch(
                session, fetcher=fetcher, limit=limit, row_delay_s=row_delay_s
            )
        claimed += result.claimed
        if result.retry_in is not None:
            retry_in = min(result.retry_in, retry_in or result.retry_in)
        # Claim again at once while rows keep coming: under a steady flow the rows that
        # arrived during this batch are the next one, without a wake-up's trip through the
        # broker. Only a claim that finds nothing ends the drain.
        if result.claimed == 0:
            return DrainResult(claimed, False, retry_in)
        if result.claimed == limit and on_backlog is not None:
            on_backlog()
            on_backlog = None
    return DrainResult(claimed, True, retry_in)
