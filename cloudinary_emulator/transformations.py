"""Admin API transformations: list, details, create named, update, delete.

`GET/POST/PUT/DELETE /transformations`, the transformation (a name or a string) in the
`transformation` parameter. Implicit transformations are the ones the assets' derived
resources were made with; named and explicitly created ones are in transformation_list.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from cloudinary_emulator import cursor
from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.forms import parse_bool
from cloudinary_emulator.listing import max_results, param
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Asset
from cloudinary_emulator.transformation_list import Entry
from cloudinary_emulator.transformation_text import (
    canonical,
    info,
    is_transformation,
    named_parts,
)

Handler = Callable[[State, Request], Response]
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def route(method: str, segments: list[str]) -> tuple[str, Handler] | None:
    if segments != ["transformations"]:
        return None
    handlers: dict[str, tuple[str, Handler]] = {
        "GET": ("transformations", _get),
        "POST": ("create_transformation", create),
        "PUT": ("update_transformation", update),
        "DELETE": ("delete_transformation", delete),
    }
    return handlers.get(method)


def derived_key(entry: dict[str, Any]) -> str:
    """The implicit transformation a derived resource was made with."""
    text = str(entry.get("transformation", ""))
    return canonical(text) if is_transformation(text) else text


def _implicit(state: State) -> dict[str, list[tuple[Asset, dict[str, Any]]]]:
    found: dict[str, list[tuple[Asset, dict[str, Any]]]] = {}
    for asset in state.store.snapshot():
        for entry in asset.derived:
            found.setdefault(derived_key(entry), []).append((asset, entry))
    return found


def _used(entry: Entry, implicit: dict[str, Any]) -> bool:
    if not entry.named:
        return entry.name in implicit
    return any(entry.name in named_parts(key) for key in implicit)


def _summary(entry: Entry, implicit: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": entry.listed_name,
        "allowed_for_strict": entry.allowed_for_strict,
        "used": _used(entry, implicit),
        "named": entry.named,
    }


def _all_entries(state: State, implicit: dict[str, Any]) -> list[Entry]:
    entries = {e.listed_name: e for e in state.transformations.entries()}
    for key in implicit:
        entries.setdefault(key, Entry(name=key, definition=key, named=False))
    return sorted(entries.values(), key=lambda e: e.listed_name)


def _find(state: State, text: str, implicit: dict[str, Any]) -> Entry | None:
    """A transformation by name (with or without `t_`) or by its string."""
    registry = state.transformations
    bare = text[2:] if text.startswith("t_") else text
    named = registry.get(bare)
    if named is not None and named.named:
        return named
    if not is_transformation(text):
        return None
    key = canonical(text)
    return registry.get(key) or (
        Entry(name=key, definition=key, named=False) if key in implicit else None
    )


def _required(state: State, text: str, implicit: dict[str, Any]) -> Entry:
    if not text:
        raise ApiError(400, "Missing required parameter - transformation")
    entry = _find(state, text, implicit)
    if entry is None:
        raise ApiError(404, f"Transformation {text} not found")
    return entry


def _get(state: State, req: Request) -> Response:
    text = param(req.query, "transformation")
    with state.store.lock:
        implicit = _implicit(state)
        if "transformation" not in req.query:
            return _list(state, req, implicit)
        entry = _required(state, text, implicit)
        return ok(_details(state, req, entry, implicit))


def _list(state: State, req: Request, implicit: dict[str, Any]) -> Response:
    query = req.query
    limit = max_results(query, default=10)
    entries = _all_entries(state, implicit)
    if "named" in query:
        wanted = parse_bool(param(query, "named"), False)
        entries = [e for e in entries if e.named == wanted]
    if token := param(query, "next_cursor"):
        after = str(cursor.decode(token, "transformations")[0])
        entries = [e for e in entries if e.listed_name > after]
    page = entries[:limit]
    body: dict[str, Any] = {"transformations": [_summary(e, implicit) for e in page]}
    if len(entries) > limit:
        body["next_cursor"] = cursor.encode("transformations", [page[-1].listed_name])
    return ok(body)


def _details(
    state: State, req: Request, entry: Entry, implicit: dict[str, Any]
) -> dict[str, Any]:
    limit = max_results(req.query, default=10)
    uses = [
        (asset, derived)
        for key, found in implicit.items()
        if key == entry.name or (entry.named and entry.name in named_parts(key))
        for asset, derived in found
    ]
    uses.sort(key=lambda use: str(use[1].get("id", "")))
    if token := param(req.query, "next_cursor"):
        after = str(cursor.decode(token, "transformation-derived")[0])
        uses = [u for u in uses if str(u[1].get("id", "")) > after]
    page = uses[:limit]
    body = {
        **_summary(entry, implicit),
        "info": info(entry.definition),
        "derived": [
            {
                "public_id": asset.public_id,
                "resource_type": asset.resource_type,
                "type": asset.type,
                "format": derived.get("format", asset.format),
                "url": derived.get("url", ""),
                "secure_url": derived.get("secure_url", ""),
                "bytes": derived.get("bytes", 0),
                "id": derived.get("id", ""),
            }
            for asset, derived in page
        ],
    }
    if len(uses) > limit:
        body["next_cursor"] = cursor.encode(
            "transformation-derived", [str(page[-1][1].get("id", ""))]
        )
    return body


def _definition(text: str, name: str) -> str:
    if not text:
        raise ApiError(400, "Missing required parameter - transformation")
    if not is_transformation(text):
        raise ApiError(400, f"Invalid transformation {text} for {name}")
    return canonical(text)


def create(state: State, req: Request) -> Response:
    params = req.json()
    name, text = param(params, "name"), param(params, "transformation")
    if not name:
        raise ApiError(400, "Missing required parameter - name")
    definition = _definition(text, name)
    with state.store.lock:
        registry = state.transformations
        if name == text:
            # Creating a transformation under its own string makes an unnamed one.
            registry.put(Entry(name=definition, definition=definition, named=False))
            return ok({"message": "created"})
        bare = name[2:] if name.startswith("t_") else name
        if not _NAME.match(bare) or is_transformation(bare):
            raise ApiError(400, f"Invalid transformation name {name}")
        if registry.get(bare) is not None:
            raise ApiError(409, f"Transformation {name} already exists")
        registry.put(Entry(name=bare, definition=definition, named=True))
    return ok({"message": "created"})


def update(state: State, req: Request) -> Response:
    params = req.json()
    text = param(params, "transformation")
    with state.store.lock:
        implicit = _implicit(state)
        entry = _required(state, text, implicit)
        if "unsafe_update" in params:
            if not entry.named:
                raise ApiError(400, "Only named transformations can be updated")
            entry.definition = _definition(param(params, "unsafe_update"), text)
        if "allowed_for_strict" in params:
            entry.allowed_for_strict = parse_bool(params["allowed_for_strict"], False)
        state.transformations.put(entry)
    return ok({"message": "updated"})


def delete(state: State, req: Request) -> Response:
    text = param(req.json(), "transformation") or param(req.query, "transformation")
    store = state.store
    with store.lock:
        implicit = _implicit(state)
        entry = _required(state, text, implicit)
        state.transformations.remove(entry.name)
        if not entry.named:
            # Deleting a transformation also deletes the derived resources made with it.
            for asset, _ in implicit.get(entry.name, []):
                asset.derived = [
                    d for d in asset.derived if derived_key(d) != entry.name
                ]
            store.touch()
    return ok({"message": "deleted"})
