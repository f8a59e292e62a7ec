"""Admin API reads that return pages: list, by public_ids, by asset_ids, by tag, by context."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cloudinary_emulator import cursor
from cloudinary_emulator.errors import ApiError, bad_param
from cloudinary_emulator.forms import Params, parse_bool
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.render import admin_summary, select_fields
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Asset
from cloudinary_emulator.timefmt import parse_time

MAX_IDS = 100


def param(params: Params | dict[str, Any], name: str) -> str:
    value = params.get(name)
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def id_list(params: Params | dict[str, Any], name: str) -> list[str]:
    value = params.get(name)
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item) for item in items if str(item)]


def max_results(params: Params | dict[str, Any], default: int, low: int = 1) -> int:
    raw = param(params, "max_results")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_param("max_results", raw) from None
    if not low <= value <= 500:
        raise ApiError(400, f"max_results must be between {low} and 500, got {value}")
    return value


def _extras(query: Params) -> set[str]:
    return {
        name
        for name in ("tags", "context", "metadata", "moderations")
        if parse_bool(query.get(name), False)
    }


def _fields(params: Params | dict[str, Any]) -> list[str]:
    return [f.strip() for f in id_list(params, "fields") if f.strip()]


def _page(state: State, assets: list[Asset], query: Params) -> list[dict[str, Any]]:
    extras, fields, cloud = _extras(query), _fields(query), state.account.cloud_name
    return [select_fields(admin_summary(a, cloud, extras), fields) for a in assets]


def list_resources(
    state: State, req: Request, resource_type: str, dtype: str | None
) -> Response:
    query = req.query
    if "public_ids" in query:
        return _by_public_ids(state, req, resource_type, dtype or "upload")
    limit = max_results(query, default=10)
    prefix = param(query, "prefix")
    token = param(query, "next_cursor")
    store = state.store
    with store.lock:
        if prefix:
            # With a prefix Cloudinary sorts by public_id and ignores direction.
            after_name = cursor.decode(token, "name") if token else None
            name_key = (str(after_name[0]), str(after_name[1])) if after_name else None
            assets, next_name = store.page_by_name(
                resource_type, dtype, prefix, name_key, limit
            )
            resume: Any = list(next_name) if next_name else None
            kind = "name"
        else:
            descending = param(query, "direction").lower() not in ("asc", "1")
            kind = "desc" if descending else "asc"
            start_at = None
            if raw_start := param(query, "start_at"):
                start_at = parse_time(raw_start, time.time())
                if start_at is None:
                    raise bad_param("start_at", raw_start)
            after = cursor.decode(token, kind) if token else None
            time_key = _time_key(after) if after else None
            assets, next_time = store.page_by_time(
                resource_type, dtype, descending, time_key, start_at, limit
            )
            resume = list(next_time) if next_time else None
        body: dict[str, Any] = {"resources": _page(state, assets, query)}
    if resume is not None:
        body["next_cursor"] = cursor.encode(kind, resume)
    return ok(body)


def _time_key(key: list[Any]) -> tuple[int, str, str]:
    try:
        return int(key[0]), str(key[1]), str(key[2])
    except (ValueError, IndexError, TypeError):
        raise ApiError(400, "Invalid value for parameter next_cursor") from None


def _by_public_ids(
    state: State, req: Request, resource_type: str, dtype: str
) -> Response:
    public_ids = id_list(req.query, "public_ids")
    if len(public_ids) > MAX_IDS:
        raise ApiError(
            400, f"Too many public_ids ({len(public_ids)}); at most {MAX_IDS}"
        )
    with state.store.lock:
        found = [state.store.get(resource_type, dtype, pid) for pid in public_ids]
        return ok({"resources": _page(state, [a for a in found if a], req.query)})


def resources_by_asset_ids(state: State, req: Request) -> Response:
    asset_ids = id_list(req.query, "asset_ids")
    if len(asset_ids) > MAX_IDS:
        raise ApiError(400, f"Too many asset_ids ({len(asset_ids)}); at most {MAX_IDS}")
    with state.store.lock:
        found = [state.store.by_asset_id(aid) for aid in asset_ids]
        return ok({"resources": _page(state, [a for a in found if a], req.query)})


def _filtered(
    state: State,
    req: Request,
    resource_type: str | None,
    keep: Callable[[Asset], bool],
) -> Response:
    """A created_at-ordered page of the assets `keep` accepts.

    A full scan per page: by-tag and by-context listings are not on the sync's hot path.
    """
    query = req.query
    limit = max_results(query, default=10)
    descending = param(query, "direction").lower() not in ("asc", "1")
    kind = "filtered-desc" if descending else "filtered-asc"
    token = param(query, "next_cursor")
    after = _time_key(cursor.decode(token, kind)) if token else None

    def sort_key(asset: Asset) -> tuple[int, str, str]:
        return asset.created_at, asset.public_id, asset.type

    with state.store.lock:
        chosen = [
            a
            for a in state.store.snapshot()
            if resource_type in (None, a.resource_type) and keep(a)
        ]
        chosen.sort(key=sort_key, reverse=descending)
        if after is not None:
            chosen = [
                a
                for a in chosen
                if (sort_key(a) < after if descending else sort_key(a) > after)
            ]
        body: dict[str, Any] = {"resources": _page(state, chosen[:limit], query)}
        if len(chosen) > limit:
            body["next_cursor"] = cursor.encode(kind, list(sort_key(chosen[limit - 1])))
    return ok(body)


def resources_by_tag(
    state: State, req: Request, resource_type: str, tag: str
) -> Response:
    return _filtered(state, req, resource_type, lambda a: tag in a.tags)


def resources_by_context(state: State, req: Request, resource_type: str) -> Response:
    key = param(req.query, "key")
    if not key:
        raise ApiError(400, "Missing required parameter - key")
    wanted = req.query.get("value")
    return _filtered(
        state,
        req,
        resource_type,
        lambda a: key in a.context and (wanted is None or a.context[key] == wanted),
    )


def resources_by_moderation(
    state: State, req: Request, resource_type: str, kind: str, status: str
) -> Response:
    return _filtered(
        state,
        req,
        resource_type,
        lambda a: any(
            m["kind"] == kind and m["status"] == status for m in a.moderation
        ),
    )


def resources_by_asset_folder(state: State, req: Request) -> Response:
    """Every resource type in one asset folder (not its subfolders)."""
    folder = param(req.query, "asset_folder").strip("/")
    if not folder and "asset_folder" not in req.query:
        raise ApiError(400, "Missing required parameter - asset_folder")
    return _filtered(state, req, None, lambda a: a.asset_folder == folder)
