"""The operator API's control side: reconcile runs (/api/sync), the cleanup queue and its
kill switch (/api/cleanup), the decisions on held deletes (release, restore, adopt), and
signed parameters for direct browser uploads."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeVar

from cloudinary.utils import api_sign_request
from flask import Blueprint, Response, current_app, jsonify, request

from webhook_receiver.operator_api.http import (
    enqueue,
    fail,
    flag,
    guarded,
    json_body,
    limit_arg,
    requester,
    text_field,
)
from webhook_receiver.operator_api.state import operator
from workers.cleanup import tasks as cleanup_tasks
from workers.cleanup.queue import drains_for
from workers.cloudinary_client import CloudinaryClient
from workers.operations import cleanup as cleanup_ops
from workers.operations import deletes
from workers.operations import queries as ops_queries
from workers.reconcile import driver as reconcile
from workers.reconcile import tasks as reconcile_tasks

bp = guarded(Blueprint("operator_ops", __name__, url_prefix="/api"))

MAX_RETRY_IDS = 10_000
# what a release or restore body may say (the CLI's --all, --id, --prefix, --before, --after)
SELECTION_FIELDS = ("all", "ids", "prefix", "before", "after")
T = TypeVar("T")
# What a browser upload may ask to be signed besides the timestamp and notification_url.
UPLOAD_EXTRAS = ("folder", "tags", "public_id")
CLOUDINARY_API = "https://api.cloudinary.com"


@bp.get("/sync")
def sync_runs() -> Response:
    limit = limit_arg(default=20, maximum=100)
    with operator(current_app).sessions.begin() as session:
        runs = reconcile.recent_runs(session, limit)
        active = ops_queries.reconcile_active(session)
    return jsonify(runs=runs, active=active, running=bool(active))


@bp.post("/sync")
def start_sync() -> tuple[Response, int]:
    """Record a run and have a worker execute it (the same as
    workers.reconcile.tasks.start_run, with the transaction here so that a broker outage
    still answers with the run's id: beat's resume sweep starts it then)."""
    body = json_body()
    full, dry_run = flag(body, "full"), flag(body, "dry_run")
    public_id = text_field(body, "public_id")
    resource_type = text_field(body, "resource_type", "image")
    delivery_type = text_field(body, "type", "upload")
    if full and public_id:
        fail(400, "full and public_id exclude each other")
    kind = "full" if full else "single" if public_id else "incremental"
    settings = operator(current_app).settings
    with operator(current_app).sessions.begin() as session:
        run_id, created = reconcile.start(
            session,
            kind,
            reconcile_tasks.limits_from(settings),
            dry_run=dry_run,
            public_id=public_id,
            resource_type=resource_type or "image",
            delivery_type=delivery_type or "upload",
        )
    # after the commit: the worker must find the row (the default queue is maintenance)
    enqueued = created and enqueue(
        f"reconcile run {run_id}", lambda: reconcile_tasks.resume.delay(run_id)
    )
    return jsonify(id=run_id, kind=kind, created=created, enqueued=enqueued), 202


@bp.get("/sync/<int:run_id>")
def sync_run(run_id: int) -> Response:
    with operator(current_app).sessions.begin() as session:
        found = reconcile.run_status(session, run_id)
    if found is None:
        fail(404, f"no reconcile run {run_id}")
    return jsonify(found)


@bp.get("/cleanup")
def cleanup_status() -> Response:
    state = operator(current_app)
    with state.sessions.begin() as session:
        answer = cleanup_ops.status(session, state.settings).as_dict()
    return jsonify(answer)


@bp.post("/cleanup/sweep")
def cleanup_sweep() -> Response:
    with operator(current_app).sessions.begin() as session:
        result = cleanup_ops.sweep(session)
    drains = 0 if result.paused else drains_for(result.due)
    enqueued = _drain(drains)
    return jsonify(asdict(result) | {"drains": drains, "enqueued": enqueued})


@bp.post("/cleanup/retry-failed")
def cleanup_retry_failed() -> Response:
    ids = _ids(json_body())
    with operator(current_app).sessions.begin() as session:
        try:
            retried = cleanup_ops.retry_failed(session, ids)
        except cleanup_ops.NotRetryable as refused:
            # an unknown id is 404; ids that exist but have not failed are a conflict
            fail(404 if refused.unknown else 409, str(refused))
        paused = cleanup_ops.is_paused(session)
    drains = 0 if paused else drains_for(len(retried))
    return jsonify(retried=retried, drains=drains, enqueued=_drain(drains))


def _ids(
    body: dict[str, Any], otherwise: str = "omit it to retry all"
) -> list[int] | None:
    if "ids" not in body:
        return None
    ids = body["ids"]
    # an empty list would mean "every failed row" to cleanup_ops: refuse it, never guess
    if (
        not isinstance(ids, list)
        or not ids
        or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63
            for i in ids
        )
    ):
        fail(400, f"ids must be a non-empty list of queue ids ({otherwise})")
    if len(ids) > MAX_RETRY_IDS:
        fail(400, f"at most {MAX_RETRY_IDS} ids per request")
    return ids


@bp.post("/cleanup/pause")
def cleanup_pause() -> Response:
    reason = text_field(json_body(), "reason")
    with operator(current_app).sessions.begin() as session:
        changed = cleanup_ops.pause(session, by=requester(), reason=reason)
    return jsonify(paused=True, changed=changed)


@bp.post("/cleanup/resume")
def cleanup_resume() -> Response:
    with operator(current_app).sessions.begin() as session:
        changed = cleanup_ops.resume(session)
        due = cleanup_ops.sweep(session).due
    drains = drains_for(due)
    return jsonify(
        paused=False, changed=changed, drains=drains, enqueued=_drain(drains)
    )


@bp.post("/cleanup/release")
def cleanup_release() -> Response:
    """Send held deletes (even while the breaker is tripped)."""
    selection = _selection(json_body(required=True))
    with operator(current_app).sessions.begin() as session:
        result = _decided(lambda: deletes.release(session, selection, requester()))
        paused = cleanup_ops.is_paused(session)
    drains = 0 if paused else drains_for(len(result.ids))
    return jsonify(
        released=result.ids,
        count=len(result.ids),
        breaker_reset=result.breaker_reset,
        drains=drains,
        enqueued=_drain(drains),
    )


@bp.post("/cleanup/restore")
def cleanup_restore() -> Response | tuple[Response, int]:
    """Give held (or pending) deletes' rows back; hard deletes are re-created from
    Cloudinary within the Admin API budget."""
    selection = _selection(json_body(required=True))
    state = operator(current_app)
    account, governor = state.settings.cloudinary, state.governor
    if account is None or governor is None:
        return jsonify(error="no Cloudinary account is configured"), 503
    client = CloudinaryClient(account)
    with state.sessions.begin() as session:
        result = _decided(
            lambda: deletes.restore(session, selection, requester(), client, governor)
        )
    return jsonify(asdict(result) | {"count": len(result.ids)})


@bp.post("/cleanup/adopt")
def cleanup_adopt() -> Response:
    """This database is the one mediasync serves: send the deletes held because it was
    not."""
    json_body()  # an empty body, or an object (nothing in it is read)
    state = operator(current_app)
    account = state.settings.cloudinary
    with state.sessions.begin() as session:
        result = deletes.adopt(
            session, requester(), account.cloud_name if account else None
        )
        paused = cleanup_ops.is_paused(session)
    drains = 0 if paused else drains_for(len(result.requeued))
    return jsonify(asdict(result) | {"drains": drains, "enqueued": _drain(drains)})


def _selection(body: dict[str, Any]) -> deletes.Selection:
    unknown = sorted(set(body) - set(SELECTION_FIELDS))
    if unknown:
        fail(
            400,
            f"unknown fields {', '.join(unknown)};"
            f" a selection has {', '.join(SELECTION_FIELDS)}",
        )
    ids = _ids(body, "or select with all, prefix, before or after")
    prefix = body.get("prefix")
    if prefix is not None and not isinstance(prefix, str):
        fail(400, "prefix must be a string")
    every, before, after = (
        flag(body, "all"),
        _time(body, "before"),
        _time(body, "after"),
    )
    return _decided(
        lambda: deletes.Selection(
            every=every, ids=tuple(ids or ()), prefix=prefix, before=before, after=after
        )
    )


def _time(body: dict[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        fail(400, f"{name} must be an ISO 8601 time")
    return _decided(lambda: deletes.parse_time(value))


def _decided(decide: Callable[[], T]) -> T:
    """Run an operator decision; its refusals as answers (nothing was changed)."""
    try:
        return decide()
    except deletes.BadSelection as exc:
        fail(400, str(exc))
    except deletes.UnknownIds as exc:
        fail(404, str(exc))
    except deletes.WrongStates as exc:
        fail(409, str(exc))


def _drain(count: int) -> bool:
    if not count:
        return True
    return enqueue(
        f"{count} cleanup drains", lambda: cleanup_tasks.enqueue_drains(count)
    )


@bp.get("/upload-params")
def upload_params() -> Response | tuple[Response, int]:
    """Signed Upload API parameters for a browser to POST a file straight to Cloudinary
    (reference/cloudinary.md §4.2); the upload's notification comes back to this receiver."""
    settings = operator(current_app).settings
    account = settings.cloudinary
    if account is None:
        return jsonify(error="no Cloudinary account is configured"), 503
    unknown = sorted(set(request.args) - set(UPLOAD_EXTRAS))
    if unknown:
        fail(
            400,
            f"cannot sign {', '.join(unknown)}; allowed: {', '.join(UPLOAD_EXTRAS)}",
        )
    base = settings.public_url or request.host_url.rstrip("/")
    params: dict[str, Any] = {
        "timestamp": str(int(time.time())),
        "notification_url": f"{base}/webhooks/cloudinary",
    }
    for name in UPLOAD_EXTRAS:
        value = request.args.get(name, "").strip()
        if value:
            params[name] = value
    signature = api_sign_request(
        params, account.api_secret, account.signature_algorithm
    )
    prefix = account.upload_prefix or CLOUDINARY_API
    # exactly the form fields to POST with the file (anything more would break the signature)
    fields = params | {"api_key": account.api_key, "signature": signature}
    return jsonify(
        fields
        | {
            "cloud_name": account.cloud_name,
            "upload_url": f"{prefix}/v1_1/{account.cloud_name}/auto/upload",
            "fields": fields,
        }
    )
