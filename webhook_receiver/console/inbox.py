"""Inbox pages: the filtered list, a row (payload, attempts, error), retry one, and the
bulk retry of the failed rows a filter selects (a preview with its count, then the run)."""

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
    note_bulk_ids,
    state,
    wake,
)
from workers.inbox import queue as inbox_queue
from workers.inbox.tasks import wake as wake_apply
from workers.operations import listings
from workers.operations.queries import inbox_status

STATUSES = listings.INBOX_STATUSES


@bp.get("/inbox")
def inbox_list() -> str:
    where = params.inbox_filter(request.args, STATUSES)
    after = params.whole(request.args, "after")
    with state().sessions.begin() as session:
        page = listings.list_inbox(session, where, limit=PAGE_SIZE, after_id=after)
        counts = inbox_queue.status_counts(session)
    return render_template(
        "console/inbox_list.html",
        page=page,
        where=where,
        counts=counts,
        statuses=STATUSES,
        kept=params.kept(request.args),
    )


@bp.get("/inbox/<int:inbox_id>")
def inbox_row(inbox_id: int) -> str:
    with state().sessions.begin() as session:
        row = listings.get_inbox(session, inbox_id)
    if row is None:
        abort(404, f"no inbox row {inbox_id}")
    return render_template(
        "console/inbox_row.html", row=row, done=request.args.get("done")
    )


@bp.post("/inbox/<int:inbox_id>/retry")
def inbox_retry(inbox_id: int) -> Response:
    with acting("inbox.retry", inbox_id=inbox_id) as (session, outcome):
        if not inbox_queue.retry_failed(session, [inbox_id]):
            status = inbox_status(session, inbox_id)
            if status is None:
                abort(404, f"no inbox row {inbox_id}")
            abort(409, f"inbox row {inbox_id} is {status}, not failed")
        outcome["retried"] = 1
    wake("an inbox apply", wake_apply)
    return redirect(url_for("console.inbox_row", inbox_id=inbox_id, done="retried"))


@bp.get("/inbox/bulk")
def inbox_bulk_preview() -> str:
    where = params.inbox_filter(request.args, STATUSES)
    with state().sessions.begin() as session:
        preview = listings.preview_inbox_retry(session, where)
    return bulk_preview_page(
        "inbox", preview, "console.inbox_list", "console.inbox_bulk_run"
    )


@bp.post("/inbox/bulk")
def inbox_bulk_run() -> str:
    where = params.inbox_filter(request.form, STATUSES)
    upto = params.whole(request.form, "upto_id")
    kept = params.kept(request.form)
    with acting("inbox.bulk_retry", filter=kept, upto_id=upto) as (session, outcome):
        ids = listings.retry_inbox_matching(session, where, upto)
        note_bulk_ids(outcome, ids)
    enqueued = wake("an inbox apply", wake_apply) if ids else True
    return bulk_result_page("inbox", ids, "console.inbox_list", enqueued=enqueued)
