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
    drain_cleanups,
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
    return render_template(
        "console/bulk_preview.html",
        what="cleanup",
        preview=preview,
        kept=params.kept(request.args),
        action=url_for("console.cleanup_bulk_run"),
        back=url_for("console.cleanup_list", **params.kept(request.args)),
        max_bulk=listings.MAX_BULK,
    )


@bp.post("/cleanups/bulk")
def cleanup_bulk_run() -> str:
    where = params.cleanup_filter(request.form, STATUSES)
    upto = params.whole(request.form, "upto_id")
    kept = params.kept(request.form)
    with acting("cleanup.bulk_retry", filter=kept, upto_id=upto) as (session, outcome):
        ids = listings.retry_cleanups_matching(session, where, upto)
        paused = cleanup_ops.is_paused(session)
        outcome["count"] = len(ids)
        outcome["first_id"], outcome["last_id"] = (
            (ids[0], ids[-1]) if ids else (None, None)
        )
    enqueued = drain_cleanups(0 if paused else drains_for(len(ids)))
    return render_template(
        "console/bulk_result.html",
        what="cleanup",
        count=len(ids),
        expected=params.whole(request.form, "expected"),
        enqueued=enqueued,
        paused=paused,
        back=url_for("console.cleanup_list", **kept),
    )
