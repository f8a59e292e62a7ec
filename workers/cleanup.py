"""Cleanup: delete queued assets from Cloudinary in batches, within the Admin API budget.

`drain` claims due rows (commit), checks none has come back to life, calls Cloudinary
outside any transaction, then records every outcome (commit) — batch after batch until
nothing is due. Holding a transaction open across an HTTP call would pin row locks and a
connection for its whole duration; the lease (locked_at/locked_by) replaces it, and the
sweep reclaims leases of workers that died.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import redis
from sqlalchemy.orm import Session, sessionmaker

from workers import cleanup_calls, cleanup_ops, cleanup_queue
from workers.cleanup_calls import RetryPolicy
from workers.cleanup_queue import ClaimedRow, Outcome
from workers.cloudinary_client import CloudinaryClient, rate_limit_of
from workers.rate_governor import RateGovernor

logger = logging.getLogger(__name__)

SKIPPED_LIVE = "a live media_assets row has this identity again; the asset is kept"


@dataclass(frozen=True)
class CleanupPolicy:
    admin_batch: int = cleanup_queue.ADMIN_BATCH
    # destroy is one call per asset: smaller claims keep leases short and let other
    # workers share the queue while the Admin budget is low.
    destroy_batch: int = 20
    # A drain hands its worker back after this long; a follow-up drain continues.
    time_budget_s: float = 20.0
    # Renew a destroy batch's lease this often (it is LEASE_S long).
    renew_every_s: float = 15.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class DrainReport:
    batches: int = 0
    claimed: int = 0
    results: dict[str, int] = field(default_factory=dict)
    lease_lost: int = 0
    paused: bool = False
    # stopped on the time budget with work left: send another drain
    more: bool = False
    # the earliest retry this drain scheduled (a Unix time), to wake a drain for it
    retry_at: float | None = None

    def count(self, outcomes: Sequence[Outcome]) -> None:
        for outcome in outcomes:
            self.results[outcome.result] = self.results.get(outcome.result, 0) + 1
            if outcome.status == "pending" and outcome.next_attempt_at is not None:
                at = outcome.next_attempt_at.timestamp()
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
        if cleanup_ops.is_paused(session):
            report.paused = True
            return False
        use_admin = _acquire(governor)
        limit = policy.admin_batch if use_admin else policy.destroy_batch
        rows = cleanup_queue.claim(session, token, limit)
    if not rows:
        if use_admin:
            _refund(governor)
        return False
    report.batches += 1
    report.claimed += len(rows)
    with sessions.begin() as session:
        live = cleanup_queue.live_public_ids(session, rows)
    outcomes = [
        Outcome(
            r, status="skipped", result="skipped", attempt_inc=0, error=SKIPPED_LIVE
        )
        for r in rows
        if r.public_id in live
    ]
    todo = [r for r in rows if r.public_id not in live]
    if todo and use_admin:
        outcomes += _delete_via_admin(client, governor, todo, policy.retry)
    elif todo:
        outcomes += _delete_via_destroy(sessions, client, token, todo, policy)
    elif use_admin:
        _refund(governor)
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


def _delete_via_admin(
    client: CloudinaryClient,
    governor: RateGovernor,
    rows: list[ClaimedRow],
    retry: RetryPolicy,
) -> list[Outcome]:
    head = rows[0]
    public_ids = sorted({r.public_id for r in rows})
    started = time.monotonic()
    try:
        result = client.delete_resources(
            public_ids, head.resource_type, head.delivery_type
        )
    except Exception as exc:  # the SDK raises a plain Exception for unmapped statuses
        duration = (time.monotonic() - started) * 1000
        logger.warning("delete_resources of %d ids failed: %s", len(public_ids), exc)
        until: datetime | None = None
        if cleanup_calls.classify(exc) is cleanup_calls.Failure.RATE_LIMITED:
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


def _delete_via_destroy(
    sessions: sessionmaker[Session],
    client: CloudinaryClient,
    token: str,
    rows: list[ClaimedRow],
    policy: CleanupPolicy,
) -> list[Outcome]:
    renewed = time.monotonic()

    def keep_lease() -> None:
        nonlocal renewed
        if time.monotonic() - renewed >= policy.renew_every_s:
            with sessions.begin() as session:
                cleanup_queue.renew(session, token)
            renewed = time.monotonic()

    return cleanup_calls.destroy_each(client, rows, policy.retry, keep_lease)


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


def _summary(outcomes: Sequence[Outcome]) -> str:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.result] = counts.get(outcome.result, 0) + 1
    return ", ".join(f"{n} {result}" for result, n in sorted(counts.items()))
