"""Cleanup: delete queued assets from Cloudinary in batches, within the Admin API budget.

`drain` claims due rows (commit), checks none has come back to life, calls Cloudinary
outside any transaction, then records every outcome (commit) — batch after batch until
nothing is due. Holding a transaction open across an HTTP call would pin row locks and a
connection for its whole duration; the lease (locked_at/locked_by) replaces it: a thread
renews it while the batch is out, so it lapses only when the worker is gone, and the
reclaim hands the rows on within seconds.

When the Admin budget is spent and comes back soon, the drain waits for the reset (the
due rows are postponed to it, no attempt spent) rather than destroying asset by asset.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType

import redis
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from workers import pauses
from workers.cleanup import calls as cleanup_calls
from workers.cleanup import guard
from workers.cleanup import queue as cleanup_queue
from workers.cleanup.calls import RetryPolicy
from workers.cleanup.queue import ClaimedRow, DeleteOutcome
from workers.cloudinary_client import CloudinaryClient, rate_limit_of
from workers.cloudinary_errors import Failure, classify
from workers.rate_governor import RateGovernor

logger = logging.getLogger(__name__)

SKIPPED_LIVE = "a live media_assets row has this identity again; the asset is kept"
SKIPPED_SCOPE = "outside MEDIASYNC_DELETE_SCOPE ({scope}); the asset is kept"

_DELAYED = text("""
SELECT extract(epoch FROM min(created_at)) + :delay_s FROM cloudinary_cleanup_queue
 WHERE status = 'pending' AND created_at > now() - make_interval(secs => :delay_s)
""")


@dataclass(frozen=True)
class CleanupPolicy:
    admin_batch: int = cleanup_queue.ADMIN_BATCH
    # destroy is one call per asset: smaller claims keep leases short and let other
    # workers share the queue while the Admin budget is low.
    destroy_batch: int = 20
    # A drain hands its worker back after this long; a follow-up drain continues.
    time_budget_s: float = 20.0
    # Renew the lease of the batch in hand this often (it lapses after LEASE_S).
    renew_every_s: float = cleanup_queue.RENEW_S
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    guardrails: guard.Guardrails = field(default_factory=guard.Guardrails)
    # ask Cloudinary to purge the CDN's copies too (MEDIASYNC_DELETE_INVALIDATE)
    invalidate: bool = False


@dataclass
class DrainReport:
    batches: int = 0
    claimed: int = 0
    results: dict[str, int] = field(default_factory=dict)
    lease_lost: int = 0
    paused: bool = False
    # a guardrail stopped every delete (workers/cleanup/guard.py): why
    blocked: str | None = None
    # the mass-delete breaker is tripped: only rows an operator released were sent
    tripped: bool = False
    # stopped on the time budget with work left: send another drain
    more: bool = False
    # the earliest retry this drain scheduled (a Unix time), to wake a drain for it
    retry_at: float | None = None
    # stopped to wait for the Admin budget's reset (a Unix time); due rows were postponed
    waiting_for_reset: float | None = None

    def count(self, outcomes: Sequence[DeleteOutcome]) -> None:
        for outcome in outcomes:
            self.results[outcome.result] = self.results.get(outcome.result, 0) + 1
            if outcome.status == "pending" and outcome.next_attempt_at is not None:
                at = outcome.next_attempt_at.timestamp()
                self.wake_at(at)

    def wake_at(self, at: float) -> None:
        self.retry_at = at if self.retry_at is None else min(self.retry_at, at)


def drain(
    sessions: sessionmaker[Session],
    client: CloudinaryClient,
    governor: RateGovernor,
    *,
    holder: str,
    policy: CleanupPolicy | None = None,
) -> DrainReport:
    """Process due rows until none is left (or the time budget is spent)."""
    policy = policy or CleanupPolicy()
    report = DrainReport()
    deadline = time.monotonic() + policy.time_budget_s
    while _one_batch(sessions, client, governor, holder, policy, report):
        if time.monotonic() >= deadline:
            report.more = True
            break
    return report


def _one_batch(
    sessions: sessionmaker[Session],
    client: CloudinaryClient,
    governor: RateGovernor,
    holder: str,
    policy: CleanupPolicy,
    report: DrainReport,
) -> bool:
    token = f"{holder}/{uuid.uuid4().hex[:8]}"
    with sessions.begin() as session:
        if pauses.is_paused(session):
            report.paused = True
            return False
        cleanup_queue.take_turn(session)
        admission = guard.admit(session, policy.guardrails)
        report.tripped = report.tripped or admission.tripped
        if admission.blocked is not None:
            report.blocked = admission.blocked
            return False
        use_admin = _acquire(governor)
        if not use_admin:
            reset = _near_reset(governor, policy.retry.max_rate_limit_wait_s)
            if reset is not None:
                _wait_for_reset(session, reset, report)
                return False
        limit = policy.admin_batch if use_admin else policy.destroy_batch
        rows = cleanup_queue.claim(session, token, limit, admission)
        if not rows and admission.delay_s:
            _wake_after_delay(session, admission.delay_s, report)
    if not rows:
        if use_admin:
            _refund(governor)
        return False
    report.batches += 1
    report.claimed += len(rows)
    with _LeaseKeeper(sessions, token, [r.id for r in rows], policy.renew_every_s):
        outcomes = _work(sessions, client, governor, rows, use_admin, policy)
    with sessions.begin() as session:
        kept = cleanup_queue.record(session, token, outcomes)
    if len(kept) < len(outcomes):
        # Our lease expired and the sweep handed the rows to someone else; their outcome
        # is theirs to record. Deletes are idempotent, so nothing is harmed.
        report.lease_lost += len(outcomes) - len(kept)
        logger.warning(
            "cleanup %s: lease lost on %d rows", token, len(outcomes) - len(kept)
        )
    report.count(outcomes)
    logger.info(
        "cleanup %s: %d rows via %s: %s",
        token,
        len(rows),
        "delete_resources" if use_admin else "destroy",
        _summary(outcomes),
    )
    return True


def _wake_after_delay(session: Session, delay_s: int, report: DrainReport) -> None:
    """Rows wait for MEDIASYNC_DELETE_DELAY: have a drain woken when the first is due."""
    due_at = session.execute(_DELAYED, {"delay_s": delay_s}).scalar_one()
    if due_at is not None:
        report.wake_at(float(due_at))


def _work(
    sessions: sessionmaker[Session],
    client: CloudinaryClient,
    governor: RateGovernor,
    rows: list[ClaimedRow],
    use_admin: bool,
    policy: CleanupPolicy,
) -> list[DeleteOutcome]:
    with sessions.begin() as session:
        live = cleanup_queue.live_public_ids(session, rows)
    scope = policy.guardrails.scope
    outside = {
        r.id
        for r in rows
        if scope is not None and not scope.contains(r.public_id, r.folder, r.tags)
    }
    outcomes = [
        DeleteOutcome(
            r, status="skipped", result="skipped", attempt_inc=0, error=SKIPPED_LIVE
        )
        for r in rows
        if r.public_id in live
    ] + [
        DeleteOutcome(
            r,
            status="skipped",
            result="skipped",
            attempt_inc=0,
            error=SKIPPED_SCOPE.format(scope=scope.describe() if scope else ""),
        )
        for r in rows
        if r.id in outside and r.public_id not in live
    ]
    todo = [r for r in rows if r.public_id not in live and r.id not in outside]
    if todo and use_admin:
        outcomes += _delete_via_admin(
            client, governor, todo, policy.retry, policy.invalidate
        )
    elif todo:
        outcomes += cleanup_calls.destroy_each(
            client, todo, policy.retry, invalidate=policy.invalidate
        )
    elif use_admin:
        _refund(governor)
    return outcomes


class _LeaseKeeper:
    """Renews a batch's lease from a thread while the batch is worked on, however long its
    Cloudinary calls take: the lease lapses only when this process stops (SIGKILL, OOM, a
    lost host), so the reclaim can presume a worker dead after a few seconds."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        token: str,
        ids: list[int],
        every_s: float,
    ) -> None:
        self._sessions, self._token, self._ids = sessions, token, ids
        self._every_s = every_s
        self._stop = threading.Event()
        # a daemon: a renewal stuck on a dead database must not keep the process alive
        self._thread = threading.Thread(
            target=self._run, name=f"lease-{token}", daemon=True
        )

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        # a renewal stuck on an unreachable database must not hold the drain; a late one
        # is a no-op (it only touches rows still processing under our token)
        self._thread.join(timeout=self._every_s * 2)

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                with self._sessions.begin() as session:
                    cleanup_queue.renew(session, self._token, self._ids)
            except SQLAlchemyError as exc:
                # the next round tries again; if the lease lapses meanwhile, the outcome
                # write is refused (token-guarded) and the new holder's answer counts
                logger.warning("cleanup %s: lease not renewed: %s", self._token, exc)


def _near_reset(governor: RateGovernor, max_wait_s: float) -> float | None:
    """The Unix time the spent Admin budget comes back, if that is near enough to wait."""
    try:
        wait = governor.wait_time()
    except redis.RedisError as exc:
        logger.warning("rate governor unavailable (%s); not waiting for a reset", exc)
        return None
    # 0 means the budget was refilled meanwhile: the next batch finds out
    return time.time() + wait if 0 < wait <= max_wait_s else None


def _wait_for_reset(session: Session, reset: float, report: DrainReport) -> None:
    # the header has whole seconds; a second more never lands just before the reset
    at = reset + 1.0
    moved = cleanup_queue.postpone_due(session, datetime.fromtimestamp(at, UTC))
    report.waiting_for_reset = at
    report.wake_at(at)
    logger.info(
        "cleanup: Admin API budget spent; %d due rows wait %.0f s for its reset",
        moved,
        at - time.time(),
    )


def _delete_via_admin(
    client: CloudinaryClient,
    governor: RateGovernor,
    rows: list[ClaimedRow],
    retry: RetryPolicy,
    invalidate: bool,
) -> list[DeleteOutcome]:
    head = rows[0]
    public_ids = sorted({r.public_id for r in rows})
    started = time.monotonic()
    try:
        result = client.delete_resources(
            public_ids, head.resource_type, head.delivery_type, invalidate=invalidate
        )
    except Exception as exc:  # the SDK raises a plain Exception for unmapped statuses
        duration = (time.monotonic() - started) * 1000
        logger.warning("delete_resources of %d ids failed: %s", len(public_ids), exc)
        until: datetime | None = None
        if classify(exc) is Failure.RATE_LIMITED:
            info = client.last_rate_limit()
            reset, until = cleanup_calls.rate_limit_wait_until(info, retry)
            _note_exhausted(governor, reset, info.limit if info else None)
        retry_at = cleanup_calls.batch_retry_at(rows, retry)
        return [
            cleanup_calls.failure_outcome(
                row,
                exc,
                api="delete_resources",
                policy=retry,
                duration_ms=duration,
                rate_limited_until=until,
                retry_at=retry_at,
            )
            for row in rows
        ]
    duration = (time.monotonic() - started) * 1000
    info = rate_limit_of(result)
    if info is not None:
        _observe(governor, info.limit, info.remaining, info.reset_at)
    return cleanup_calls.admin_outcomes(rows, result, duration, retry)


# The budget is an optimisation over Cloudinary's own 420s: if Redis cannot be reached, the
# drain goes on with the Admin API (and a 420 still backs it off) rather than stopping.
def _acquire(governor: RateGovernor) -> bool:
    try:
        return governor.acquire(1)
    except redis.RedisError as exc:
        logger.warning("rate governor unavailable (%s); assuming budget is left", exc)
        return True


def _refund(governor: RateGovernor) -> None:
    try:
        governor.refund(1)
    except redis.RedisError as exc:
        logger.warning("rate governor unavailable (%s); refund dropped", exc)


def _observe(
    governor: RateGovernor,
    limit: int | None,
    remaining: int | None,
    reset_at: float | None,
) -> None:
    try:
        governor.observe(limit, remaining, reset_at)
    except redis.RedisError as exc:
        logger.warning("rate governor unavailable (%s); answer not recorded", exc)


def _note_exhausted(governor: RateGovernor, reset: float, limit: int | None) -> None:
    try:
        governor.exhausted(reset, limit)
    except redis.RedisError as exc:
        logger.warning("rate governor unavailable (%s); 420 not recorded", exc)


def _summary(outcomes: Sequence[DeleteOutcome]) -> str:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.result] = counts.get(outcome.result, 0) + 1
    return ", ".join(f"{n} {result}" for result, n in sorted(counts.items()))
