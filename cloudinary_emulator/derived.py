"""Derived resources: delete by id (`DELETE /derived_resources`), delete by
transformation (the resource deletes' `transformations`), and the paged `derived`
list of the resource details."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cloudinary_emulator import cursor
from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.listing import MAX_IDS, id_list, max_results, param
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.render import derived_field
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Asset
from cloudinary_emulator.transformation_text import canonical, is_transformation
from cloudinary_emulator.transformations import derived_key

Handler = Callable[[State, Request], Response]


def route(method: str, segments: list[str]) -> tuple[str, Handler] | None:
    if segments == ["derived_resources"] and method == "DELETE":
        return "delete_derived_resources", delete_by_ids
    return None


def delete_by_ids(state: State, req: Request) -> Response:
    params = {**req.query, **req.json()}
    ids = id_list(params, "derived_resource_ids")
    if not ids:
        raise ApiError(400, "Missing required parameter - derived_resource_ids")
    if len(ids) > MAX_IDS:
        raise ApiError(400, f"Too many derived_resource_ids; at most {MAX_IDS}")
    wanted = set(ids)
    found: set[str] = set()
    store = state.store
    with store.lock:
        for asset in store.snapshot():
            kept = [d for d in asset.derived if d.get("id") not in wanted]
            if len(kept) != len(asset.derived):
                found |= {str(d.get("id")) for d in asset.derived} & wanted
                asset.derived = kept
        if found:
            store.touch()
    return ok({"deleted": {i: "deleted" if i in found else "not_found" for i in ids}})


def transformation_keys(raw: str) -> set[str]:
    """The `transformations` parameter of a delete (`a|b`) as canonical strings."""
    keys = set()
    for text in raw.split("|"):
        if not text:
            continue
        if not is_transformation(text):
            raise ApiError(400, f"Invalid transformation {text}")
        keys.add(canonical(text))
    return keys


def drop_derived(asset: Asset, keys: set[str] | None) -> int:
    """Delete the asset's derived resources (those made with `keys`, or all)."""
    before = len(asset.derived)
    asset.derived = [
        d for d in asset.derived if keys is not None and not _made_with(d, keys)
    ]
    return before - len(asset.derived)


def _made_with(derived: dict[str, Any], keys: set[str]) -> bool:
    # `c_scale,w_100/jpg` names the jpg derived of `c_scale,w_100` only
    key = derived_key(derived)
    return key in keys or f"{key}/{derived.get('format', '')}" in keys


def derived_page(asset: Asset, query: dict[str, Any]) -> dict[str, Any]:
    """`derived` for the resource details, `max_results` at a time."""
    limit = max_results(query, default=10)
    items = derived_field(asset)
    start = 0
    if token := param(query, "derived_next_cursor"):
        start = cursor.decode(token, "derived")[0]
        if not isinstance(start, int) or start < 0:
            raise ApiError(400, "Invalid value for parameter derived_next_cursor")
    page = items[start : start + limit]
    body: dict[str, Any] = {"derived": page}
    if start + limit < len(items):
        body["derived_next_cursor"] = cursor.encode("derived", [start + limit])
    return body
