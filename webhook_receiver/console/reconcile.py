"""Reconcile runs: the list, one run's report, and starting one. The console starts dry
runs; a finished dry run's page offers the same run for real (dry-run first)."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from webhook_receiver.console import params
from webhook_receiver.console.blueprint import acting, bp, state, wake
from workers.operations.queries import reconcile_active
from workers.reconcile import driver as reconcile
from workers.reconcile import runs
from workers.reconcile import tasks as reconcile_tasks

KINDS = ("incremental", "full", "single")
RESOURCE_TYPES = ("image", "video", "raw")


@bp.get("/reconcile")
def reconcile_list() -> str:
    with state().sessions.begin() as session:
        runs = reconcile.recent_runs(session, 50)
        active = reconcile_active(session)
    return render_template(
        "console/reconcile_list.html", runs=runs, active=active, kinds=KINDS
    )


@bp.get("/reconcile/<int:run_id>")
def reconcile_run(run_id: int) -> str:
    with state().sessions.begin() as session:
        found = reconcile.run_status(session, run_id)
        params_of = _params(session, run_id)
    if found is None:
        abort(404, f"no reconcile run {run_id}")
    return render_template(
        "console/reconcile_run.html", run=found, params=params_of, kinds=KINDS
    )


@bp.post("/reconcile")
def reconcile_start() -> Response:
    """A dry run of the kind asked for; or, with `confirm_run` naming a finished dry run
    of the same kind and asset, that run for real."""
    kind = params.choice(request.form, "kind", KINDS, "incremental")
    public_id = request.form.get("public_id", "").strip() or None
    resource_type = params.choice(
        request.form, "resource_type", RESOURCE_TYPES, "image"
    )
    delivery_type = params.text_arg(request.form, "type") or "upload"
    confirm = params.whole(request.form, "confirm_run")
    if (kind == "single") != bool(public_id):
        abort(400, "a single-asset run needs a public_id, and only it takes one")
    settings = state().settings
    with acting(
        "reconcile.start", kind=kind, public_id=public_id, confirm_run=confirm
    ) as (session, outcome):
        dry_run = confirm is None
        if confirm is not None:
            _check_dry_run(session, confirm, kind, public_id)
        run_id, created = reconcile.start(
            session,
            kind,
            reconcile_tasks.limits_from(settings),
            dry_run=dry_run,
            public_id=public_id,
            resource_type=resource_type,
            delivery_type=delivery_type,
        )
        outcome.update(run_id=run_id, created=created, dry_run=dry_run)
    if created:
        wake(f"reconcile run {run_id}", lambda: reconcile_tasks.resume.delay(run_id))
    return redirect(url_for("console.reconcile_run", run_id=run_id))


def _check_dry_run(
    session: Session, run_id: int, kind: str, public_id: str | None
) -> None:
    report = reconcile.run_status(session, run_id)
    run_params = _params(session, run_id)
    if (
        report is None
        or not report.get("dry_run")
        or report.get("status") != "finished"
        or report.get("kind") != kind
        or (run_params or {}).get("public_id") != public_id
    ):
        abort(409, f"run {run_id} is not a finished dry run of this {kind} run")


def _params(session: Session, run_id: int) -> dict[str, Any] | None:
    run = runs.load(session, run_id)
    return dict(run.params) if run is not None else None
