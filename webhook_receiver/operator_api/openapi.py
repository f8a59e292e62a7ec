"""The OpenAPI 3.1 document of the operator API (GET /api/openapi.json).

Written by hand, next to the routes; tests/operator_api checks that it names exactly the
/api/ routes and methods Flask serves.
"""

from __future__ import annotations

from typing import Any

JSON = "application/json"
_ERROR = {"$ref": "#/components/responses/Error"}
# which held deletes a release or restore decides on: `all`, or `ids`, or any of `prefix`,
# `before`, `after` (queued before/after, ISO 8601, UTC without a zone)
_SELECTION = {
    "all": {"type": "boolean"},
    "ids": {"type": "array", "items": {"type": "integer"}},
    "prefix": {"type": "string"},
    "before": {"type": "string", "format": "date-time"},
    "after": {"type": "string", "format": "date-time"},
}
# 400 an empty or malformed selection, 409 ids in another state (every operation may
# answer 404, here for unknown ids)
_DECISION_ERRORS = ("400", "409")


def _param(
    name: str, where: str, description: str, schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _op(
    summary: str,
    ok: str = "200",
    *,
    params: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    errors: tuple[str, ...] = ("400",),
    result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        ok: {
            "description": "OK" if ok == "200" else "Accepted",
            "content": {JSON: {"schema": result or {"type": "object"}}},
        },
        "401": _ERROR,
        "404": _ERROR,
        "503": _ERROR,
    }
    for status in errors:
        responses[status] = _ERROR
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if params:
        operation["parameters"] = params
    if body is not None:
        operation["requestBody"] = {
            "required": False,
            "content": {JSON: {"schema": {"type": "object", "properties": body}}},
        }
    return operation


_LIMIT = _param(
    "limit",
    "query",
    "Page size, 1 to 500 (default 50).",
    {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
)
_CURSOR = _param("cursor", "query", "`next_cursor` of the previous page (opaque).")
_PAGE = {
    "type": "object",
    "required": ["items", "next_cursor"],
    "properties": {
        "items": {"type": "array", "items": {"type": "object"}},
        "next_cursor": {"type": ["string", "null"]},
    },
}
_IDS = {"type": "array", "items": {"type": "string"}}


def _paths() -> dict[str, Any]:
    return {
        "/api/media": {
            "get": _op(
                "List mirror rows, newest first (keyset pagination); `stats=1` answers "
                "as /api/media/stats.",
                params=[
                    _param(
                        "search", "query", "Substring of public_id or display_name."
                    ),
                    _param("resource_type", "query", "image, video or raw."),
                    _param("folder", "query", "Exact folder."),
                    _param("tag", "query", "Rows carrying this tag."),
                    _param("prefix", "query", "public_id starts with this."),
                    _param(
                        "status",
                        "query",
                        "live (default), deleted or all.",
                        {"enum": ["live", "deleted", "all"]},
                    ),
                    _param("stats", "query", "1: answer with the stats instead."),
                    _LIMIT,
                    _CURSOR,
                ],
                result=_PAGE,
            ),
            "delete": _op(
                "Soft-delete live rows: the trigger queues each Cloudinary cleanup.",
                params=[
                    _param(
                        "public_ids",
                        "query",
                        "Comma-separated, at most 1,000 (or a JSON body).",
                    ),
                    _param("resource_type", "query", "Default image."),
                    _param("type", "query", "Delivery type, default upload."),
                ],
                body={"public_ids": _IDS},
                result={
                    "type": "object",
                    "properties": {"deleted": _IDS, "not_found": _IDS},
                },
            ),
        },
        "/api/media/stats": {
            "get": _op(
                "Live totals by resource_type (count, bytes), live rows by "
                "sync_status, live and deleted counts.",
                errors=(),
            )
        },
        "/api/inbox": {
            "get": _op(
                "List webhook_inbox rows, newest first.",
                params=[
                    _param(
                        "status",
                        "query",
                        "failed (default), pending, applied, ignored or all.",
                        {"enum": ["pending", "applied", "ignored", "failed", "all"]},
                    ),
                    _param("type", "query", "notification_type, exactly."),
                    _param(
                        "prefix",
                        "query",
                        "The notification names a public_id starting with this.",
                    ),
                    _param(
                        "since",
                        "query",
                        "Received at or after (ISO 8601; UTC without a zone).",
                    ),
                    _param("until", "query", "Received before (ISO 8601)."),
                    _LIMIT,
                    _CURSOR,
                ],
                result=_PAGE,
            )
        },
        "/api/inbox/{inbox_id}/retry": {
            "post": _op(
                "Put a failed inbox row back to pending and wake the apply task.",
                "202",
                params=[
                    _param("inbox_id", "path", "Inbox row id.", {"type": "integer"})
                ],
                errors=("409",),
            )
        },
        "/api/assets/{public_id}/history": {
            "get": _op(
                "An asset's story: webhooks, mirror rows, cleanups, audit log.",
                params=[
                    _param("public_id", "path", "The public_id; it may contain '/'.")
                ],
                errors=(),
            )
        },
        "/api/sync": {
            "get": _op(
                "Recent reconcile runs and the unfinished ones.",
                params=[_LIMIT],
            ),
            "post": _op(
                "Start a reconcile run: full, one asset (public_id) or incremental.",
                "202",
                body={
                    "full": {"type": "boolean"},
                    "public_id": {"type": "string"},
                    "resource_type": {"type": "string"},
                    "type": {"type": "string"},
                    "dry_run": {"type": "boolean"},
                },
                result={"type": "object", "properties": {"id": {"type": "integer"}}},
            ),
        },
        "/api/sync/{run_id}": {
            "get": _op(
                "One run's progress and report.",
                params=[_param("run_id", "path", "Run id.", {"type": "integer"})],
                errors=(),
            )
        },
        "/api/cleanup": {
            "get": _op(
                "Queue counts (held and cancelled too), oldest pending age, listener "
                "heartbeats, pause state, the mass-delete breaker, the database "
                "identity, the delete scope and delay.",
                errors=(),
            )
        },
        "/api/cleanup/sweep": {
            "post": _op("Reclaim stale leases and enqueue drains.", errors=())
        },
        "/api/cleanup/retry-failed": {
            "post": _op(
                "Put failed queue rows (all, or `ids`) back to pending.",
                body={"ids": {"type": "array", "items": {"type": "integer"}}},
            )
        },
        "/api/cleanup/pause": {
            "post": _op(
                "Kill switch: stop Cloudinary deletes (rows stay pending).",
                body={"reason": {"type": "string"}},
            )
        },
        "/api/cleanup/resume": {
            "post": _op("Lift the pause and enqueue drains.", errors=())
        },
        "/api/cleanup/release": {
            "post": _op(
                "Send held deletes (even while the mass-delete breaker is tripped); "
                "the breaker closes once none is held.",
                body=_SELECTION,
                errors=_DECISION_ERRORS,
            )
        },
        "/api/cleanup/restore": {
            "post": _op(
                "Give held (or pending) deletes' rows back and cancel the deletes: a "
                "soft delete is undone, a hard delete's row is re-created from "
                "Cloudinary within the Admin API budget (`left`: rows still held).",
                body=_SELECTION,
                errors=_DECISION_ERRORS,
            )
        },
        "/api/cleanup/adopt": {
            "post": _op(
                "Record this database as the one mediasync serves; send the deletes "
                "held because it was not.",
                errors=(),
            )
        },
        "/api/upload-params": {
            "get": _op(
                "Signed Upload API parameters for a direct browser upload; POST "
                "`fields` and the file to `upload_url`.",
                params=[
                    _param(name, "query", f"Signed {name} for the upload.")
                    for name in ("folder", "tags", "public_id")
                ],
            )
        },
        "/api/openapi.json": {"get": _op("This document.", errors=())},
        "/api/cloudinary/webhook": {
            "post": {
                "summary": "Alias of POST /webhooks/cloudinary (signed by Cloudinary; "
                "no bearer token).",
                "security": [],
                "parameters": [
                    _param("X-Cld-Timestamp", "header", "Unix seconds."),
                    _param("X-Cld-Signature", "header", "Notification signature."),
                ],
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": {"type": "object"}}},
                },
                "responses": {
                    "202": {"description": "Stored (new or duplicate)."},
                    "400": _ERROR,
                    "401": _ERROR,
                    "413": _ERROR,
                    "503": _ERROR,
                },
            }
        },
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mediasync operator API",
            "version": "1",
            "description": "Operate the Cloudinary mirror: listings, deletes, "
            "reconciliation, the cleanup queue and its kill switch. Bearer "
            'MEDIASYNC_API_TOKEN; every error is {"error": "…"}.',
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Error": {
                    "description": "An error, explained.",
                    "content": {
                        JSON: {
                            "schema": {
                                "type": "object",
                                "required": ["error"],
                                "properties": {"error": {"type": "string"}},
                            }
                        }
                    },
                }
            },
        },
    }
