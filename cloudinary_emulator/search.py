"""Search API: POST /resources/search with an expression subset, sort_by and cursors."""

from __future__ import annotations

import time
from typing import Any

from cloudinary_emulator import cursor
from cloudinary_emulator.errors import ApiError, bad_param
from cloudinary_emulator.expression import Predicate, parse
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.render import search_result, select_fields
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Asset

SortSpec = tuple[tuple[str, bool], ...]  # (field, descending)

_SORTABLE: dict[str, Any] = {
    "public_id": lambda a: a.public_id,
    "created_at": lambda a: a.created_at,
    "uploaded_at": lambda a: a.uploaded_at,
    "updated_at": lambda a: a.updated_at,
    "last_updated": lambda a: a.updated_at,
    "bytes": lambda a: a.bytes,
    "width": lambda a: a.width or 0,
    "height": lambda a: a.height or 0,
    "version": lambda a: a.version,
    "display_name": lambda a: a.display_name,
    "asset_folder": lambda a: a.asset_folder,
    "folder": lambda a: a.asset_folder,
    "format": lambda a: a.format,
    "asset_id": lambda a: a.asset_id,
    "resource_type": lambda a: a.resource_type,
    "type": lambda a: a.type,
}
# After the requested fields, these make the order total so cursors never skip or repeat.
_TIE_BREAK: SortSpec = (("public_id", False), ("type", False), ("resource_type", False))
_DEFAULT_SORT: SortSpec = (("created_at", True),)


def _sort_spec(raw: Any) -> SortSpec:
    if not raw:
        return _DEFAULT_SORT + _TIE_BREAK
    items = raw if isinstance(raw, list) else [raw]
    spec: list[tuple[str, bool]] = []
    for item in items:
        pairs = item.items() if isinstance(item, dict) else [(str(item), "desc")]
        for name, direction in pairs:
            if name not in _SORTABLE:
                raise ApiError(400, f"Invalid sort_by field {name}")
            if str(direction).lower() not in ("asc", "desc"):
                raise ApiError(400, f"Invalid sort_by direction {direction}")
            spec.append((name, str(direction).lower() == "desc"))
    return tuple(spec) + _TIE_BREAK


def _key(asset: Asset, spec: SortSpec) -> list[Any]:
    return [_SORTABLE[name](asset) for name, _ in spec]


def _compare(left: list[Any], right: list[Any], spec: SortSpec) -> int:
    for a, b, (_, descending) in zip(left, right, spec, strict=True):
        if a != b:
            result = -1 if a < b else 1
            return -result if descending else result
    return 0


def _sorted(matches: list[Asset], spec: SortSpec) -> list[Asset]:
    # Stable sorts from the last key to the first give a mixed-direction order
    # without a comparison function, which matters at 100k assets.
    for name, descending in reversed(spec):
        matches.sort(key=_SORTABLE[name], reverse=descending)
    return matches


def _position_after(items: list[Asset], key: list[Any], spec: SortSpec) -> int:
    low, high = 0, len(items)
    while low < high:
        middle = (low + high) // 2
        if _compare(_key(items[middle], spec), key, spec) <= 0:
            low = middle + 1
        else:
            high = middle
    return low


def _matches(state: State, expression: str, spec: SortSpec) -> list[Asset]:
    predicate, uses_now = parse(expression, time.time())
    store = state.store
    # Relative dates ("1d") move with the clock, so such results are cached per second.
    cache_key = (
        expression,
        spec,
        store.generation,
        int(time.time()) if uses_now else 0,
    )
    cached = state.searches.get(cache_key)
    if cached is not None:
        return cached
    result = _sorted(_filter(store.snapshot(), predicate), spec)
    state.searches.put(cache_key, result)
    return result


def _filter(assets: list[Asset], predicate: Predicate | None) -> list[Asset]:
    return assets if predicate is None else [a for a in assets if predicate(a)]


def _cursor_kind(spec: SortSpec) -> str:
    """A cursor is only valid with the sort order it was made for."""
    return "search:" + ",".join(f"{name}{'-' if desc else '+'}" for name, desc in spec)


def _names(value: Any) -> list[str]:
    if not value:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


_WITH_FIELDS = frozenset(
    {
        "context",
        "tags",
        "metadata",
        "image_metadata",
        "image_analysis",
        "quality_analysis",
        "accessibility_analysis",
        "moderation_status",
    }
)


def _with_fields(
    body: dict[str, Any], asset: Asset, extras: set[str]
) -> dict[str, Any]:
    """The Search API's own shapes for `with_field`: context is flat (no "custom" level),
    and image_metadata holds what is known of the file itself."""
    if "context" in body:
        body["context"] = dict(asset.context)
    if "image_metadata" in extras and asset.resource_type == "image":
        facts: dict[str, Any] = {"FileType": asset.format.upper()}
        if asset.width and asset.height:
            facts.update(ImageWidth=str(asset.width), ImageHeight=str(asset.height))
        body["image_metadata"] = facts
    return body


def _check_with_field(names: list[str]) -> set[str]:
    for name in names:
        if name not in _WITH_FIELDS:
            raise ApiError(400, f"Invalid with_field {name}")
    return set(names)


def handle(state: State, req: Request) -> Response:
    started = time.monotonic()
    params = req.json() if req.method == "POST" else dict(req.query)
    spec = _sort_spec(params.get("sort_by"))
    raw_limit = params.get("max_results", 50)
    try:
        limit = int(str(raw_limit))
    except ValueError:
        raise bad_param("max_results", raw_limit) from None
    if not 0 <= limit <= 500:
        raise ApiError(400, f"max_results must be between 0 and 500, got {limit}")
    with state.store.lock:
        matches = _matches(state, str(params.get("expression") or ""), spec)
        start = 0
        if token := params.get("next_cursor"):
            after = cursor.decode(str(token), _cursor_kind(spec))
            if len(after) != len(spec):
                raise ApiError(400, "Invalid value for parameter next_cursor")
            start = _position_after(matches, after, spec)
        page = matches[start : start + limit]
        extras = _check_with_field(_names(params.get("with_field")))
        fields = _names(params.get("fields"))
        cloud = state.account.cloud_name
        resources = [
            select_fields(
                _with_fields(search_result(a, cloud, extras), a, extras), fields
            )
            for a in page
        ]
        body: dict[str, Any] = {"total_count": len(matches), "resources": resources}
        if page and start + limit < len(matches):
            body["next_cursor"] = cursor.encode(
                _cursor_kind(spec), _key(page[-1], spec)
            )
    body["time"] = int((time.monotonic() - started) * 1000)
    return ok(body)
