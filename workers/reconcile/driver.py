"""Reconciliation: make the mirror true again from any drift, inside the Admin API budget.

`start` records a run (or finds the unfinished one of its kind); `execute` drives it page by
page under a per-run advisory lock until it finishes, is aborted by the blast-radius guard,
fails, or pauses (rate limit, budget share, operator pause, transient errors) with its cursor
saved. Executing a paused run continues it. Celery tasks and the CLI are thin edges on these.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from workers.cloudinary_client import CloudinaryClient
from workers.rate_governor import RateGovernor
from workers.reconcile import runs, sweep
from workers.reconcile.flows import Flow, Limits, search_expression
from workers.reconcile.runs import Report, recent_runs, run_status
from workers.reconcile.source import (
    AdminCalls,
    Paused,
    TransientFailure,
    transient_backoff_s,
)

__all__ = [
    "Limits",
    "Report",
    "due_runs",
    "execute",
    "recent_runs",
    "run_status",
    "start",
]

logger = logging.getLogger(__name__)

MAX_TRANSIENT_FAILURES = 4


def start(
    session: Session,
    kind: str,
    limits: Limits,
    *,
    dry_run: bool = False,
    public_id: str | None = None,
    resource_type: str = "image",
    delivery_type: str = "upload",
) -> tuple[int, bool]:
    """(run id, created): record a run to execute. A writing full or incremental run that is
    still unfinished is returned instead of starting a second one."""
    params: dict[str, Any]
    if kind == "single":
        if not public_id:
            raise ValueError("a single-asset run needs a public_id")
        params = {
            "public_id": public_id,
            "resource_type": resource_type,
            "delivery_type": delivery_type,
        }
    elif kind == "full":
        params = {"scopes": [list(scope) for scope in sweep.scopes(session)]}
    elif kind == "incremental":
        params = _search_window(session, limits)
    else:
        raise ValueError(f"unknown reconcile kind {kind!r}")
    return runs.create_run(session, kind, dry_run=dry_run, params=params)


def execute(
    sessions: sessionmaker[Session],
    run_id: int,
    client: CloudinaryClient,
    governor: RateGovernor,
    limits: Limits,
    *,
    wait: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Drive a run as far as it can go now. With `wait`, sleep through timed pauses (the
    CLI's --wait) instead of returning a paused report for a task to reschedule."""
    engine: Engine = sessions.kw["bind"]
    # The lock lives on a connection of its own, outside the page transactions, so it is
    # held for the whole execution and released if the process dies.
    with engine.connect() as lock_conn:
        lock_conn.execution_options(isolation_level="AUTOCOMMIT")
        if not runs.try_lock(lock_conn, run_id):
            return _report(sessions, run_id, already_running=True)
        try:
            return _drive(sessions, run_id, client, governor, limits, wait, sleep)
        finally:
            runs.unlock(lock_conn, run_id)


def due_runs(sessions: sessionmaker[Session]) -> list[int]:
    """Unfinished runs a resume sweep should execute (paused and due, or orphaned)."""
    with sessions.begin() as session:
        return runs.due_runs(session)


def _drive(
    sessions: sessionmaker[Session],
    run_id: int,
    client: CloudinaryClient,
    governor: RateGovernor,
    limits: Limits,
    wait: bool,
    sleep: Callable[[float], None],
) -> Report:
    while True:
        with sessions.begin() as session:
            run = runs.load(session, run_id)
            if run is None:
                raise LookupError(f"no reconcile run {run_id}")
            if run.status in runs.TERMINAL or _not_due(run):
                return Report.of(run)
        calls = AdminCalls(
            client,
            governor,
            share=limits.budget_share,
            window=run.cursor.get("budget"),
        )
        flow = Flow(run, sessions, calls, limits)
        try:
            flow.execute()
        except Paused as pause:
            wait_s = _pause(sessions, flow, pause.reason, pause.wait_s)
            if wait and wait_s is not None:
                sleep(wait_s)
                continue
        except TransientFailure as exc:
            failures = int(flow.cursor.get("transient_failures", 0)) + 1
            flow.cursor["transient_failures"] = failures
            if failures > MAX_TRANSIENT_FAILURES:
                _fail(sessions, flow, f"gave up after {failures} failures: {exc}")
            else:
                wait_s = transient_backoff_s(failures)
                _pause(sessions, flow, f"Cloudinary unavailable: {exc}", wait_s)
                if wait:
                    sleep(wait_s)
                    continue
        except Exception as exc:
            # A permanent error (bad credentials, a bug): record it for operators. If even
            # that fails (the database is down), the run stays "running" without a lock,
            # and the resume sweep takes it up again later.
            _fail(sessions, flow, f"{type(exc).__name__}: {exc}")
            logger.exception("reconcile run %s failed", run_id)
        return _report(sessions, run_id)


def _not_due(run: runs.Run) -> bool:
    """A paused run whose wait has not passed yet (a duplicate or early resume message)."""
    return (
        run.status == "paused"
        and run.resume_at is not None
        and run.resume_at > datetime.now(UTC)
    )


def _pause(
    sessions: sessionmaker[Session], flow: Flow, reason: str, wait_s: float | None
) -> float | None:
    resume_at = None
    if wait_s is not None:
        wait_s = max(wait_s, 0.0)
        resume_at = datetime.now(UTC) + timedelta(seconds=wait_s)
    flow.counts["pauses"] += 1
    cursor, counts = flow.snapshot()
    with sessions.begin() as session:
        runs.pause(
            session, flow.run.id, cursor, counts, resume_at=resume_at, reason=reason
        )
    logger.info("reconcile run %s paused: %s", flow.run.id, reason)
    return wait_s


def _fail(sessions: sessionmaker[Session], flow: Flow, error: str) -> None:
    cursor, counts = flow.snapshot()
    with sessions.begin() as session:
        runs.finish(
            session, flow.run.id, "failed", cursor, counts, {"reason": error}, error
        )


def _report(
    sessions: sessionmaker[Session], run_id: int, *, already_running: bool = False
) -> Report:
    with sessions.begin() as session:
        run = runs.load(session, run_id)
    if run is None:
        raise LookupError(f"no reconcile run {run_id}")
    return Report.of(run, already_running=already_running)


def _search_window(session: Session, limits: Limits) -> dict[str, Any]:
    """Search from the watermark minus the overlap (Search lags uploads by seconds, and
    clocks differ); the first run ever looks back `first_lookback_s`."""
    now = datetime.now(UTC)
    mark = runs.watermark(session)
    if mark is None:
        since = now - timedelta(seconds=limits.first_lookback_s)
    else:
        since = mark - timedelta(seconds=limits.overlap_s)
    return {"since": since.isoformat(), "expression": search_expression(since)}
