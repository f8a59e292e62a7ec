"""The operator API's read side and the mirror's delete: /api/media, /api/inbox, asset history,
/api/openapi.json; `install(app)` wires the whole operator API (see actions.py too).

Each view owns its transaction (`with sessions.begin()`) and wakes workers only after it
has committed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from webhook_receiver.operator_api import actions as operator_ops
from webhook_receiver.operator_api.http import (
    choice_arg,
    cursor_arg,
    encode_cursor,
    enqueue,
    fail,
    guarded,
    install_error_pages,
    json_body,
    limit_arg,
    requester,
)
from webhook_receiver.operator_api.openapi import document
from webhook_receiver.operator_api.state import EXTENSION, Operator, operator
from workers.inbox import queue as inbox_queue
from workers.inbox.tasks import wake
from workers.operations import history, listings
from workers.operations import queries as ops_queries

bp = guarded(Blueprint("operator", __name__, url_prefix="/api"))

MAX_DELETE = 1000
RESOURCE_TYPES = ("image", "video", "raw")


def install(app: Flask, state: Operator) -> None:
    app.extensions[EXTENSION] = state
    app.register_blueprint(bp)
    app.register_blueprint(operator_ops.bp)
    install_error_pages(app)


@bp.get("/media")
def list_media() -> Response:
    if request.args.get("stats") in ("1", "true"):
        return media_stats()
    where = ops_queries.MediaFilter(
        search=request.args.get("search") or None,
        resource_type=request.args.get("resource_type") or None,
        folder=request.args.get("folder") or None,
        tag=request.args.get("tag") or None,
        status=choice_arg("status", ops_queries.MEDIA_STATUSES, "live"),
        prefix=request.args.get("prefix") or None,
    )
    limit, after = limit_arg(), cursor_arg()
    with operator(current_app).sessions.begin() as session:
        page = ops_queries.list_media(session, where, limit=limit, after_id=after)
    return jsonify(items=page.items, next_cursor=encode_cursor(page.last_id))


@bp.get("/media/stats")
def media_stats() -> Response:
    with operator(current_app).sessions.begin() as session:
        return jsonify(ops_queries.media_stats(session))


@bp.delete("/media")
def delete_media() -> Response:
    """Soft-delete live rows: the trigger queues each asset's Cloudinary cleanup and
    NOTIFYs the listener when this transaction commits."""
    public_ids = _public_ids()
    resource_type = request.args.get("resource_type") or "image"
    if resource_type not in RESOURCE_TYPES:
        fail(400, f"resource_type must be one of {', '.join(RESOURCE_TYPES)}")
    delivery_type = request.args.get("type") or "upload"
    with operator(current_app).sessions.begin() as session:
        deleted = ops_queries.soft_delete_media(
            session,
            public_ids,
            resource_type=resource_type,
            delivery_type=delivery_type,
            by=requester(),
        )
    found = set(deleted)
    return jsonify(
        deleted=deleted, not_found=[pid for pid in public_ids if pid not in found]
    )


def _public_ids() -> list[str]:
    """`public_ids=a,b` (repeatable) or a JSON body {"public_ids": [...]} for ids that
    contain commas; duplicates dropped, order kept."""
    given: list[str] = []
    for value in request.args.getlist("public_ids"):
        given += [part.strip() for part in value.split(",")]
    body = json_body()
    listed = body.get("public_ids", [])
    if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
        fail(400, "public_ids in the body must be a list of strings")
    given += [p.strip() for p in listed]
    public_ids = list(dict.fromkeys(p for p in given if p))
    if not public_ids:
        fail(400, "give public_ids=a,b,… (or a JSON body with a public_ids list)")
    if len(public_ids) > MAX_DELETE:
        fail(400, f"at most {MAX_DELETE} public_ids per request")
    return public_ids


@bp.get("/inbox")
def list_inbox() -> Response:
    where = listings.InboxFilter(
        status=choice_arg("status", ops_queries.INBOX_STATUSES, "failed"),
        notification_type=request.args.get("type") or None,
        public_id_prefix=request.args.get("prefix") or None,
        since=_time_arg("since"),
        until=_time_arg("until"),
    )
    limit, after = limit_arg(), cursor_arg()
    with operator(current_app).sessions.begin() as session:
        page = listings.list_inbox(session, where, limit=limit, after_id=after)
    return jsonify(items=page.items, next_cursor=encode_cursor(page.last_id))


def _time_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        found = datetime.fromisoformat(raw)
    except ValueError:
        fail(400, f"{name} must be an ISO 8601 time")
    return found if found.tzinfo else found.replace(tzinfo=UTC)


@bp.post("/inbox/<int:inbox_id>/retry")
def retry_inbox(inbox_id: int) -> tuple[Response, int]:
    with operator(current_app).sessions.begin() as session:
        retried = inbox_queue.retry_failed(session, [inbox_id])
        status = None if retried else ops_queries.inbox_status(session, inbox_id)
    if not retried:
        if status is None:
            fail(404, f"no inbox row {inbox_id}")
        fail(409, f"inbox row {inbox_id} is {status}, not failed")
    enqueued = enqueue("an inbox apply", wake)
    return jsonify(id=inbox_id, status="pending", enqueued=enqueued), 202


@bp.get("/assets/<path:public_id>/history")
def asset_history(public_id: str) -> Response:
    with operator(current_app).sessions.begin() as session:
        events = history.asset_history(session, public_id)
    if not events:
        fail(404, f"nothing is known about {public_id!r}")
    return jsonify(public_id=public_id, events=[event.as_json() for event in events])


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())
