"""Reconciliation tasks: start or continue runs; a paused run reschedules itself.

Beat sends `full` (daily), `incremental` (every few minutes) and `resume` (every minute or
so: picks up paused runs whose message Redis lost, and runs orphaned by a dead worker).
"""

from __future__ import annotations

import time
from typing import Any

from workers.celery_app import (
    MAINTENANCE_QUEUE,
    VISIBILITY_TIMEOUT_S,
    app,
    cloudinary,
    get_sessionmaker,
    get_settings,
    session_scope,
)
from workers.cloudinary_client import DEFAULT_TIMEOUT_S
from workers.config import Settings
from workers.reconcile import driver as reconcile

# A countdown message is held unacked by a worker; past the visibility timeout Redis would
# hand it out twice. Longer waits are covered by re-checking (the run is simply not due).
MAX_COUNTDOWN_S = VISIBILITY_TIMEOUT_S / 2


def limits_from(settings: Settings) -> reconcile.Limits:
    return reconcile.Limits(
        grace_s=settings.reconcile_grace_s,
        overlap_s=settings.reconcile_overlap_s,
        max_deletes=settings.reconcile_max_deletes,
        max_delete_share=settings.reconcile_max_delete_share,
        budget_share=settings.reconcile_budget_share,
        first_lookback_s=settings.full_reconcile_interval_s,
    )


def start_run(
    kind: str,
    *,
    dry_run: bool = False,
    public_id: str | None = None,
    resource_type: str = "image",
    delivery_type: str = "upload",
) -> int:
    """Record a run and have a worker execute it; the id of the run (an unfinished run of
    the same kind, if there is one: nothing new is queued then)."""
    with session_scope() as session:
        run_id, created = reconcile.start(
            session,
            kind,
            limits_from(get_settings()),
            dry_run=dry_run,
            public_id=public_id,
            resource_type=resource_type,
            delivery_type=delivery_type,
        )
    if created:  # after the commit: the worker must find the row
        resume.apply_async((run_id,), queue=MAINTENANCE_QUEUE)
    return run_id


def execute_now(run_id: int) -> reconcile.Report:
    """Execute a run in this process; a timed pause sends a resume message for later."""
    settings = get_settings()
    client, governor = cloudinary(DEFAULT_TIMEOUT_S)
    report = reconcile.execute(
        get_sessionmaker(), run_id, client, governor, limits_from(settings)
    )
    if report.status == "paused" and report.resume_at is not None:
        wait = max(1.0, report.resume_at.timestamp() - time.time())
        resume.apply_async(
            (run_id,), countdown=min(wait, MAX_COUNTDOWN_S), queue=MAINTENANCE_QUEUE
        )
    return report


def _start_and_execute(kind: str, **params: Any) -> dict[str, Any]:
    with session_scope() as session:
        run_id, _ = reconcile.start(
            session, kind, limits_from(get_settings()), **params
        )
    # An existing unfinished run is continued when it is due; a live one answers
    # "already running" (its lock is held) and this message ends quietly.
    return execute_now(run_id).as_dict()


@app.task(name="mediasync.reconcile.full")
def full(dry_run: bool = False) -> dict[str, Any]:
    """List every asset and repair the mirror; mark rows of vanished assets deleted."""
    return _start_and_execute("full", dry_run=dry_run)


@app.task(name="mediasync.reconcile.incremental")
def incremental(dry_run: bool = False) -> dict[str, Any]:
    """Search what changed since the watermark and repair those assets."""
    return _start_and_execute("incremental", dry_run=dry_run)


@app.task(name="mediasync.reconcile.single")
def single(
    public_id: str,
    resource_type: str = "image",
    delivery_type: str = "upload",
    dry_run: bool = False,
) -> dict[str, Any]:
    """Re-read one asset (one Admin call) and repair its row."""
    return _start_and_execute(
        "single",
        public_id=public_id,
        resource_type=resource_type,
        delivery_type=delivery_type,
        dry_run=dry_run,
    )


@app.task(name="mediasync.reconcile.resume")
def resume(run_id: int | None = None) -> list[dict[str, Any]]:
    """Continue one run, or (no id: the beat sweep) every run that is due or orphaned."""
    run_ids = [run_id] if run_id is not None else reconcile.due_runs(get_sessionmaker())
    return [execute_now(one).as_dict() for one in run_ids]
