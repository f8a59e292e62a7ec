"""Audit: media_sync_log, filterable by operation, status, source, public_id prefix, the
console operator who acted, and time."""

from __future__ import annotations

from flask import render_template, request

from webhook_receiver.console import params
from webhook_receiver.console.blueprint import PAGE_SIZE, bp, state
from workers.operations import listings

FIELDS = ("operation", "status", "source", "prefix", "operator", "since", "until")
SOURCES = ("webhook", "trigger", "reconcile", "operator")


@bp.get("/audit")
def audit_list() -> str:
    where = params.log_filter(request.args)
    after = params.whole(request.args, "after")
    with state().sessions.begin() as session:
        page = listings.list_sync_log(session, where, limit=PAGE_SIZE, after_id=after)
    return render_template(
        "console/audit.html",
        page=page,
        where=where,
        sources=SOURCES,
        kept=params.kept(request.args, FIELDS),
    )
