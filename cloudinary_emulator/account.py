"""Admin API account-level reads: resource types, config and the tag list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from cloudinary_emulator import cursor
from cloudinary_emulator.forms import parse_bool
from cloudinary_emulator.listing import max_results, param
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.state import State

Handler = Callable[[State, Request], Response]
RESOURCE_TYPES = ("image", "video", "raw")


def route(method: str, segments: list[str]) -> tuple[str, Handler] | None:
    if method != "GET":
        return None
    if segments == ["resources"]:
        return "resource_types", resource_types
    if segments == ["config"]:
        return "config", config
    if len(segments) == 2 and segments[0] == "tags":
        resource_type = unquote(segments[1])
        if resource_type not in RESOURCE_TYPES:
            return None
        return "list_tags", lambda s, r: tags(s, r, resource_type)
    return None


def resource_types(state: State, req: Request) -> Response:
    """The resource types the account holds assets of."""
    present = {a.resource_type for a in state.store.snapshot()}
    return ok({"resource_types": [t for t in RESOURCE_TYPES if t in present]})


def config(state: State, req: Request) -> Response:
    body: dict[str, Any] = {"cloud_name": state.account.cloud_name}
    if parse_bool(param(req.query, "settings"), False):
        body["settings"] = {"folder_mode": "dynamic"}
    return ok(body)


def tags(state: State, req: Request, resource_type: str) -> Response:
    """Every tag on assets of this resource type, sorted, optionally by prefix."""
    query = req.query
    limit = max_results(query, default=10)
    prefix = param(query, "prefix")
    found = sorted(
        {
            tag
            for asset in state.store.snapshot()
            if asset.resource_type == resource_type
            for tag in asset.tags
            if tag.startswith(prefix)
        }
    )
    if token := param(query, "next_cursor"):
        after = str(cursor.decode(token, "tags")[0])
        found = [t for t in found if t > after]
    body: dict[str, Any] = {"tags": found[:limit]}
    if len(found) > limit:
        body["next_cursor"] = cursor.encode("tags", [found[limit - 1]])
    return ok(body)
