"""Deleting one claimed batch from Cloudinary, and turning each answer or error into an DeleteOutcome.

Two ways to delete: the Admin API's delete_resources (up to 100 public_ids per call, but it
spends the hourly Admin budget) and the Upload API's destroy (one asset per call, not
rate-limited). Errors are sorted into three kinds: rate-limited (wait for the reset, not a
failed attempt), transient (retry with backoff until max_attempts) and permanent (failed at
once; an operator fixes the cause and runs retry-failed).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cloudinary.exceptions import GeneralError

from workers.cleanup.queue import ClaimedRow, DeleteOutcome
from workers.cloudinary_client import CloudinaryClient, RateLimit
from workers.cloudinary_errors import Failure, classify

logger = logging.getLogger(__name__)

_jitter = random.SystemRandom()


@dataclass(frozen=True)
class RetryPolicy:
    backoff_base_s: float = 5.0
    backoff_cap_s: float = 3600.0
    # An exhausted budget whose reset is at most this far away is waited for (a batch call
    # after the reset costs a hundredth of destroying each asset); a further one is not:
    # the rows go through destroy instead of stalling. MEDIASYNC_CLEANUP_MAX_RESET_WAIT.
    max_rate_limit_wait_s: float = 60.0
    # When a 420 carries no readable reset header.
    rate_limit_fallback_s: float = 60.0
    destroy_parallelism: int = 5


def backoff_s(attempt: int, policy: RetryPolicy) -> float:
    """Exponential with "equal jitter": between half and all of base * 2^(attempt-1)."""
    ceiling = min(
        policy.backoff_cap_s, policy.backoff_base_s * 2.0 ** max(0, attempt - 1)
    )
    return ceiling / 2 + _jitter.uniform(0, ceiling / 2)


def failure_outcome(
    row: ClaimedRow,
    exc: BaseException,
    *,
    api: str,
    policy: RetryPolicy,
    duration_ms: float | None = None,
    rate_limited_until: datetime | None = None,
    retry_at: datetime | None = None,
) -> DeleteOutcome:
    """The row's next state after `exc`; `retry_at` overrides its own backoff (batches)."""
    kind = classify(exc)
    message = f"{type(exc).__name__}: {exc}"
    details = {"api": api, "error_kind": kind.value}
    now = datetime.now(UTC)
    if kind is Failure.RATE_LIMITED:
        return DeleteOutcome(
            row,
            status="pending",
            result="rate_limited",
            attempt_inc=0,
            next_attempt_at=rate_limited_until or now,
            error=message,
            duration_ms=duration_ms,
            details=details,
        )
    attempt = row.attempts + 1
    if kind is Failure.PERMANENT or attempt >= row.max_attempts:
        if kind is Failure.TRANSIENT:
            message = f"gave up after {attempt} attempts: {message}"
        return DeleteOutcome(
            row,
            status="failed",
            result="failed",
            error=message,
            duration_ms=duration_ms,
            details=details,
        )
    return DeleteOutcome(
        row,
        status="pending",
        result="error",
        next_attempt_at=retry_at or now + timedelta(seconds=backoff_s(attempt, policy)),
        error=message,
        duration_ms=duration_ms,
        details=details,
    )


def batch_retry_at(rows: Sequence[ClaimedRow], policy: RetryPolicy) -> datetime:
    """One backoff for a whole failed batch: rows that failed together stay due together,
    so the retry is again one call instead of as many as there were jitter draws."""
    attempt = max(row.attempts for row in rows) + 1
    return datetime.now(UTC) + timedelta(seconds=backoff_s(attempt, policy))


def rate_limit_wait_until(
    info: RateLimit | None, policy: RetryPolicy, clock: Callable[[], float] = time.time
) -> tuple[float, datetime]:
    """(the reset to record in the governor, when the rows should be tried again)."""
    now = clock()
    reset = (
        info.reset_at if info and info.reset_at else now + policy.rate_limit_fallback_s
    )
    # the header has whole seconds; a second more never lands just before the reset
    retry = reset + 1.0
    if retry - now > policy.max_rate_limit_wait_s:
        retry = now
    return reset, datetime.fromtimestamp(retry, UTC)


def admin_outcomes(
    rows: Sequence[ClaimedRow], result: Any, duration_ms: float, policy: RetryPolicy
) -> list[DeleteOutcome]:
    """Map a delete_resources answer back onto the rows; deleted and not_found both finish."""
    answers: dict[str, str] = result.get("deleted") or {}
    counts: dict[str, Any] = result.get("deleted_counts") or {}
    outcomes = []
    for row in rows:
        answer = answers.get(row.public_id)
        if answer in ("deleted", "not_found"):
            response = {
                "api": "delete_resources",
                "result": answer,
                "deleted_counts": counts.get(row.public_id),
                "partial": result.get("partial"),
                "request_id": getattr(result, "request_id", None),
            }
            outcomes.append(
                DeleteOutcome(
                    row,
                    status="completed",
                    result=answer,
                    response=response,
                    duration_ms=duration_ms,
                    details={"api": "delete_resources", "batch_size": len(rows)},
                )
            )
        else:
            problem = GeneralError(f"delete_resources answered {answer!r} for this id")
            outcomes.append(
                failure_outcome(
                    row,
                    problem,
                    api="delete_resources",
                    policy=policy,
                    duration_ms=duration_ms,
                )
            )
    return outcomes


def destroy_each(
    client: CloudinaryClient,
    rows: Sequence[ClaimedRow],
    policy: RetryPolicy,
    *,
    invalidate: bool = False,
) -> list[DeleteOutcome]:
    """Delete rows one call each through the Upload API, a few calls at a time."""
    with ThreadPoolExecutor(max_workers=policy.destroy_parallelism) as pool:
        futures = [
            pool.submit(_destroy_one, client, row, policy, invalidate) for row in rows
        ]
        return [future.result() for future in as_completed(futures)]


def _destroy_one(
    client: CloudinaryClient, row: ClaimedRow, policy: RetryPolicy, invalidate: bool
) -> DeleteOutcome:
    started = time.monotonic()
    try:
        result = client.destroy(
            row.public_id, row.resource_type, row.delivery_type, invalidate=invalidate
        )
    except Exception as exc:  # the SDK raises plain Error/Exception for some statuses
        duration = (time.monotonic() - started) * 1000
        logger.warning("destroy of queue row %s failed: %s", row.id, exc)
        return failure_outcome(
            row, exc, api="destroy", policy=policy, duration_ms=duration
        )
    duration = (time.monotonic() - started) * 1000
    answer = result.get("result")
    if answer in ("ok", "not found"):
        final = "deleted" if answer == "ok" else "not_found"
        response = {
            "api": "destroy",
            "result": answer,
            "request_id": result.get("request_id"),
        }
        return DeleteOutcome(
            row,
            status="completed",
            result=final,
            response=response,
            duration_ms=duration,
            details={"api": "destroy"},
        )
    problem = GeneralError(f"destroy answered {answer!r}")
    return failure_outcome(
        row, problem, api="destroy", policy=policy, duration_ms=duration
    )
