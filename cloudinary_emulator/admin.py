"""Admin API resource endpoints: list, get, delete, update, ping, usage."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from cloudinary_emulator import (
    cursor,
    derived,
    details,
    metadata_values,
    mutations,
    payloads,
    resource_update,
    restore,
    search,
)
from cloudinary_emulator.errors import ApiError, not_found
from cloudinary_emulator.forms import parse_bool, parse_context, parse_tags
from cloudinary_emulator.listing import (
    MAX_IDS,
    id_list,
    list_resources,
    param,
    resources_by_asset_folder,
    resources_by_asset_ids,
    resources_by_context,
    resources_by_moderation,
    resources_by_tag,
)
from cloudinary_emulator.lookup import asset_by_asset_id, asset_by_key
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.render import admin_detail
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Asset
from cloudinary_emulator.timefmt import iso_seconds

Handler = Callable[[State, Request], Response]
RESOURCE_TYPES = ("image", "video", "raw")
MAX_BULK_DELETE = 1000
_ASSET_ID = re.compile(r"^[0-9a-f]{32}$")


def route(method: str, segments: list[str]) -> tuple[str, Handler] | None:
    """(endpoint name, handler) for an Admin API path (after /v1_1/<cloud>/), else None."""
    head, rest = (segments[0], segments[1:]) if segments else ("", [])
    if (
        head in ("ping", "usage")
        and method == "GET"
        and len(rest) <= int(head == "usage")
    ):
        return head, ping if head == "ping" else usage
    if head != "resources":
        return None
    if not rest:
        return (
            ("delete_by_asset_ids", delete_by_asset_ids) if method == "DELETE" else None
        )
    first = rest[0]
    if len(rest) == 1 and first == "search" and method in ("POST", "GET"):
        return "search", lambda s, r: search.handle(s, r)
    if len(rest) == 1 and first == "by_asset_ids" and method == "GET":
        return "resources_by_asset_ids", resources_by_asset_ids
    if len(rest) == 1 and first == "by_asset_folder" and method == "GET":
        return "list_resources", resources_by_asset_folder
    if len(rest) == 1 and _ASSET_ID.match(first):
        if method == "GET":
            return "get_resource", lambda s, r: details.by_asset_id(s, r, first)
        if method == "PUT":
            return "update", lambda s, r: _update(s, r, asset_by_asset_id(s, first))
        return None
    if first not in RESOURCE_TYPES:
        return None
    # "tags" and "context" are listings, not delivery types, in these two positions.
    if len(rest) == 3 and rest[1] == "tags" and method in ("GET", "DELETE"):
        tag = unquote(rest[2])
        if method == "DELETE":
            return "delete_resources", lambda s, r: delete_by_tag(s, r, first, tag)
        return "list_resources", lambda s, r: resources_by_tag(s, r, first, tag)
    if len(rest) == 4 and rest[1] == "moderations" and method == "GET":
        kind, status = unquote(rest[2]), unquote(rest[3])
        return "list_resources", lambda s, r: resources_by_moderation(
            s, r, first, kind, status
        )
    if len(rest) == 2 and rest[1] == "context" and method == "GET":
        return "list_resources", lambda s, r: resources_by_context(s, r, first)
    if len(rest) <= 2 and method == "GET":
        dtype = unquote(rest[1]) if len(rest) == 2 else None
        return "list_resources", lambda s, r: list_resources(s, r, first, dtype)
    if len(rest) == 2 and method == "DELETE":
        return "delete_resources", lambda s, r: delete_resources(
            s, r, first, unquote(rest[1])
        )
    if len(rest) >= 3 and method in ("GET", "POST"):
        dtype, public_id = unquote(rest[1]), unquote("/".join(rest[2:]))
        if method == "GET":
            return "get_resource", lambda s, r: details.by_key(
                s, r, first, dtype, public_id
            )
        return "update", lambda s, r: _update(
            s, r, asset_by_key(s, first, dtype, public_id)
        )
    return None


def _deleted_body(
    results: dict[str, str],
    counts: dict[str, dict[str, int]],
    partial: bool,
    resume: list[str] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "deleted": results,
        "deleted_counts": counts,
        "partial": partial,
    }
    if resume is not None:
        body["next_cursor"] = cursor.encode("delete", resume)
    return body


def delete_resources(
    state: State, req: Request, resource_type: str, dtype: str
) -> Response:
    params = req.json()
    store = state.store
    resume: list[str] | None = None
    with store.lock:
        if "public_ids" in params:
            public_ids = id_list(params, "public_ids")
            if len(public_ids) > MAX_IDS:
                raise ApiError(
                    400, f"Too many public_ids ({len(public_ids)}); at most {MAX_IDS}"
                )
            found = {pid: store.get(resource_type, dtype, pid) for pid in public_ids}
        elif "prefix" in params or parse_bool(params.get("all"), False):
            token = param(params, "next_cursor")
            after = cursor.decode(token, "delete") if token else None
            after_key = (str(after[0]), str(after[1])) if after else None
            prefix = param(params, "prefix")
            page, more = store.page_by_name(
                resource_type, dtype, prefix, after_key, MAX_BULK_DELETE
            )
            found = {a.public_id: a for a in page}
            resume = list(more) if more else None
        else:
            raise ApiError(400, "Must specify public_ids, prefix or all")
        results, counts, gone = _delete_found(state, found, params)
        if parse_bool(params.get("invalidate"), False):
            deleted = [pid for pid, r in results.items() if r == "deleted"]
            state.invalidations.record(
                "delete_resources", resource_type, dtype, deleted
            )
        notes = [payloads.delete(gone, state.account.api_key)] if gone else []
        state.notify(notes, param(params, "notification_url"))
    return ok(_deleted_body(results, counts, resume is not None, resume))


def _delete_found(
    state: State, found: dict[str, Asset | None], params: dict[str, Any]
) -> tuple[dict[str, str], dict[str, dict[str, int]], list[Asset]]:
    """Delete what was found: the originals, or with `keep_original` or
    `transformations` only (those) derived resources. Results, counts, the deleted."""
    raw = param(params, "transformations")
    keys = derived.transformation_keys(raw) if raw else None
    originals = keys is None and not parse_bool(params.get("keep_original"), False)
    results: dict[str, str] = {}
    counts: dict[str, dict[str, int]] = {}
    gone: list[Asset] = []
    store = state.store
    for key, asset in found.items():
        results[key] = "deleted" if asset is not None else "not_found"
        if asset is None:
            counts[key] = {"original": 0, "derived": 0}
            continue
        dropped = derived.drop_derived(asset, keys)
        counts[key] = {"original": int(originals), "derived": dropped}
        if originals:
            store.remove(asset)
            restore.after_delete(state, asset)
            gone.append(asset)
        elif dropped:
            store.touch()
    return results, counts, gone


def delete_by_tag(state: State, req: Request, resource_type: str, tag: str) -> Response:
    params = req.json()
    token = param(params, "next_cursor")
    after = tuple(str(k) for k in cursor.decode(token, "delete-tag")) if token else None
    store = state.store
    with store.lock:
        tagged = sorted(
            (
                a
                for a in store.snapshot()
                if a.resource_type == resource_type and tag in a.tags
            ),
            key=lambda a: (a.public_id, a.type),
        )
        if after is not None:
            tagged = [a for a in tagged if (a.public_id, a.type) > after]
        page = tagged[:MAX_BULK_DELETE]
        resume = (
            [page[-1].public_id, page[-1].type]
            if len(tagged) > MAX_BULK_DELETE
            else None
        )
        found: dict[str, Asset | None] = {a.public_id: a for a in page}
        results, counts, gone = _delete_found(state, found, params)
        notes = [payloads.delete(gone, state.account.api_key)] if gone else []
        state.notify(notes, param(params, "notification_url"))
    body = _deleted_body(results, counts, resume is not None, None)
    if resume is not None:
        body["next_cursor"] = cursor.encode("delete-tag", resume)
    return ok(body)


def delete_by_asset_ids(state: State, req: Request) -> Response:
    params = req.json()
    asset_ids = id_list(params, "asset_ids")
    if not asset_ids:
        raise ApiError(400, "Missing required parameter - asset_ids")
    if len(asset_ids) > MAX_IDS:
        raise ApiError(400, f"Too many asset_ids ({len(asset_ids)}); at most {MAX_IDS}")
    store = state.store
    with store.lock:
        by_id = {asset_id: store.by_asset_id(asset_id) for asset_id in asset_ids}
        found = [a for a in by_id.values() if a is not None]
        results, counts, gone = _delete_found(state, by_id, params)
        if parse_bool(params.get("invalidate"), False):
            # asset_ids may name several resource and delivery types: one entry each
            for key in sorted({(a.resource_type, a.type) for a in found}):
                state.invalidations.record(
                    "delete_by_asset_ids",
                    *key,
                    [a.public_id for a in found if (a.resource_type, a.type) == key],
                )
        notes = [payloads.delete(gone, state.account.api_key)] if gone else []
        state.notify(notes, param(params, "notification_url"))
    return ok(_deleted_body(results, counts, False, None))


def _context_value(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return parse_context(str(value))


def _update(state: State, req: Request, asset: Asset) -> Response:
    params = req.json()
    store = state.store
    with store.lock:
        if store.by_asset_id(asset.asset_id) is not asset:
            raise not_found(asset.public_id)  # deleted between routing and locking
        extra = resource_update.validate(params)
        notes = mutations.update(
            store,
            asset,
            state.account.api_key,
            tags=parse_tags(params["tags"]) if "tags" in params else None,
            context=_context_value(params["context"]) if "context" in params else None,
            metadata=metadata_values.changes(
                state.metadata,
                metadata_values.parse(params["metadata"]),
                clear_invalid=parse_bool(params.get("clear_invalid"), False),
            )
            if "metadata" in params
            else None,
            display_name=str(params["display_name"])
            if "display_name" in params
            else None,
            asset_folder=str(params["asset_folder"])
            if "asset_folder" in params
            else None,
        )
        notes += resource_update.apply(state, asset, extra)
        body = admin_detail(asset, state.account.cloud_name)
        state.notify(notes, param(params, "notification_url"))
    return ok(body)


def ping(state: State, req: Request) -> Response:
    return ok({"status": "ok"})


_USAGE_DATE = re.compile(r"^(\d{2}-\d{2}-\d{4}|\d{4}-\d{2}-\d{2})$")


def usage(state: State, req: Request) -> Response:
    """The account's usage; `/usage/<dd-mm-yyyy>` asks for one day, which the
    emulator answers with the same counts (it keeps no history)."""
    date = unquote(req.path.rstrip("/").rpartition("/usage")[2].lstrip("/"))
    if date and not _USAGE_DATE.match(date):
        raise ApiError(400, f"Invalid date {date}")
    now = time.time()
    assets = state.store.snapshot()
    stored = sum(a.bytes for a in assets)
    limits = state.limiter.state()
    return ok(
        {
            "plan": "Emulator",
            "last_updated": iso_seconds(now)[:10],
            "date_requested": iso_seconds(now),
            "transformations": {"usage": 0, "credits_usage": 0},
            "objects": {"usage": len(assets)},
            "bandwidth": {"usage": 0, "credits_usage": 0},
            "storage": {"usage": stored, "credits_usage": 0},
            "credits": {"usage": 0},
            "requests": sum(state.counters.snapshot().values()),
            "resources": len(assets),
            "derived_resources": 0,
            "media_limits": {
                "image_max_size_bytes": 10_485_760,
                "video_max_size_bytes": 104_857_600,
                "raw_max_size_bytes": 10_485_760,
            },
            "rate_limit_allowed": limits["limit"],
            "rate_limit_remaining": limits["remaining"],
            "rate_limit_reset_at": iso_seconds(limits["reset_at"]),
        }
    )
