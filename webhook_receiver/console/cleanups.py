"""Cleanup pages: the filtered queue, a row (attempts, Cloudinary's answer, error), retry
one, and the bulk retry of the failed rows a filter selects (preview, then run)."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from webhook_receiver.console import params
from webhook_receiver.console.blueprint import (
    PAGE_SIZE,
    acting,
    bp,
    bulk_preview_page,
    bulk_result_page,
    drain_cleanups,
    note_bulk_ids,
    state,
)
from workers.cleanup.queue import drains_for
from workers.operations import cleanup as cleanup_ops
from workers.operations import listings

STATUSES = listings.CLEANUP_STATUSES
REASONS = ("hard_delete", "soft_delete", "operator", "reconcile")


@bp.get("/cleanups")
def cleanup_list() -> str:
    where = params.cleanup_filter(request.args, STATUSES)
    after = params.whole(request.args, "after")
    with state().sessions.begin() as session:
        page = listings.list_cleanups(session, where, limit=PAGE_SIZE, after_id=after)
        status = cleanup_ops.status(session, state().settings)
    return render_template(
        "console/cleanup_list.html",
        page=page,
        where=where,
        status=status,
        statuses=STATUSES,
        kept=params.kept(request.args),
    )


@bp.get("/cleanups/<int:queue_id>")
def cleanup_row(queue_id: int) -> str:
    with state().sessions.begin() as session:
        row = listings.get_cleanup(session, queue_id)
    if row is None:
        abort(404, f"no cleanup row {queue_id}")
    return render_template(
        "console/cleanup_row.html", row=row, done=request.args.get("done")
    )


@bp.post("/cleanups/<int:queue_id>/retry")
def cleanup_retry(queue_id: int) -> Response:
    with acting("cleanup.retry", queue_id=queue_id) as (session, outcome):
        try:
            retried = cleanup_ops.retry_failed(session, [queue_id])
        except cleanup_ops.NotRetryable as refused:
            abort(404 if refused.unknown else 409, str(refused))
        paused = cleanup_ops.is_paused(session)
        outcome["retried"] = len(retried)
    drain_cleanups(0 if paused else drains_for(len(retried)))
    return redirect(url_for("console.cleanup_row", queue_id=queue_id, done="retried"))


@bp.get("/cleanups/bulk")
def cleanup_bulk_preview() -> str:
    where = params.cleanup_filter(request.args, STATUSES)
    with state().sessions.begin() as session:
        preview = listings.preview_cleanup_retry(session, where)
    return bulk_preview_page(
        "cleanup", preview, "console.cleanup_list", "console.cleanup_bulk_run"
    )


@bp.post("/cleanups/bulk")
def cleanup_bulk_run() -> str:
    where = params.cleanup_filter(request.form, STATUSES)
    upto = params.whole(request.form, "upto_id")
    kept = params.kept(request.form)
    with acting("cleanup.bulk_retry", filter=kept, upto_id=upto) as (session, outcome):
        ids = listings.retry_cleanups_matching(session, where, upto)
        paused = cleanup_ops.is_paused(session)
        note_bulk_ids(outcome, ids)
    enqueued = drain_cleanups(0 if paused else drains_for(len(ids)))
    return bulk_result_page(
        "cleanup", ids, "console.cleanup_list", enqueued=enqueued, paused=paused
    )
