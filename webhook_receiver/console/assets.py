"""Assets: search the mirror (public_id prefix, folder, tag), and one asset's page with the
story `mediasync explain` tells (workers/operations/history.py)."""

from __future__ import annotations

from flask import abort, render_template, request

from webhook_receiver.console import params
from webhook_receiver.console.blueprint import PAGE_SIZE, bp, state
from workers.operations import history
from workers.operations import queries as ops_queries

SEARCH_FIELDS = ("prefix", "folder", "tag", "status")


@bp.get("/assets")
def asset_list() -> str:
    where = ops_queries.MediaFilter(
        prefix=params.text_arg(request.args, "prefix"),
        folder=params.text_arg(request.args, "folder"),
        tag=params.text_arg(request.args, "tag"),
        status=params.choice(
            request.args, "status", ops_queries.MEDIA_STATUSES, "live"
        ),
    )
    after = params.whole(request.args, "after")
    with state().sessions.begin() as session:
        page = ops_queries.list_media(session, where, limit=PAGE_SIZE, after_id=after)
    return render_template(
        "console/assets.html",
        page=page,
        where=where,
        statuses=ops_queries.MEDIA_STATUSES,
        kept=params.kept(request.args, SEARCH_FIELDS),
    )


@bp.get("/asset")
def asset_page() -> str:
    """?public_id=… (a query parameter: a public_id may hold any character)."""
    public_id = request.args.get("public_id", "")
    if not public_id:
        abort(400, "give ?public_id=")
    where = ops_queries.MediaFilter(public_id=public_id, status="all")
    with state().sessions.begin() as session:
        rows = ops_queries.list_media(session, where, limit=PAGE_SIZE, after_id=None)
        events = history.asset_history(session, public_id)
    if not rows.items and not events:
        abort(404, f"nothing is known about {public_id!r}")
    return render_template(
        "console/asset.html", public_id=public_id, rows=rows.items, events=events
    )
