"""Admin API upload presets and upload mappings: stored settings, plain CRUD.

The emulator keeps them so the calls behave; uploads do not apply them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from cloudinary_emulator import cursor
from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.forms import parse_bool
from cloudinary_emulator.listing import max_results, param
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.state import State
from cloudinary_emulator.store import random_hex

Handler = Callable[[State, Request], Response]


def route(method: str, segments: list[str]) -> tuple[str, Handler] | None:
    head = segments[0] if segments else ""
    if head == "upload_presets" and len(segments) == 1:
        return {
            "GET": ("upload_presets", list_presets),
            "POST": ("create_upload_preset", create_preset),
        }.get(method)
    if head == "upload_presets" and len(segments) == 2:
        name = unquote(segments[1])
        handlers: dict[str, Callable[[State, Request, str], Response]] = {
            "GET": get_preset,
            "PUT": update_preset,
            "DELETE": delete_preset,
        }
        found = handlers.get(method)
        if found is None:
            return None
        return "upload_preset", lambda s, r: found(s, r, name)
    if segments == ["upload_mappings"]:
        return {
            "GET": ("upload_mappings", get_mappings),
            "POST": ("create_upload_mapping", create_mapping),
            "PUT": ("update_upload_mapping", update_mapping),
            "DELETE": ("delete_upload_mapping", delete_mapping),
        }.get(method)
    return None


# Upload presets

_TOP_LEVEL = ("name", "unsigned")


def _settings(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in _TOP_LEVEL}


def _preset(state: State, name: str) -> dict[str, Any]:
    preset = state.upload_presets.get(name)
    if preset is None:
        raise ApiError(404, f"Upload preset {name} not found")
    return preset


def _shown(preset: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": preset["name"],
        "unsigned": preset["unsigned"],
        "settings": dict(preset["settings"]),
    }


def list_presets(state: State, req: Request) -> Response:
    limit = max_results(req.query, default=10)
    names = sorted(state.upload_presets)
    if token := param(req.query, "next_cursor"):
        after = str(cursor.decode(token, "presets")[0])
        names = [n for n in names if n > after]
    body: dict[str, Any] = {
        "presets": [_shown(state.upload_presets[n]) for n in names[:limit]]
    }
    if len(names) > limit:
        body["next_cursor"] = cursor.encode("presets", [names[limit - 1]])
    return ok(body)


def create_preset(state: State, req: Request) -> Response:
    params = req.json()
    name = param(params, "name") or random_hex(1)[0][:12]
    with state.store.lock:
        if name in state.upload_presets:
            raise ApiError(409, f"Upload preset {name} already exists")
        state.upload_presets[name] = {
            "name": name,
            "unsigned": parse_bool(params.get("unsigned"), False),
            "settings": _settings(params),
        }
    return ok({"message": "created", "name": name})


def get_preset(state: State, req: Request, name: str) -> Response:
    return ok(_shown(_preset(state, name)))


def update_preset(state: State, req: Request, name: str) -> Response:
    params = req.json()
    with state.store.lock:
        preset = _preset(state, name)
        if "unsigned" in params:
            preset["unsigned"] = parse_bool(params["unsigned"], False)
        preset["settings"].update(_settings(params))
    return ok({"message": "updated"})


def delete_preset(state: State, req: Request, name: str) -> Response:
    with state.store.lock:
        _preset(state, name)
        del state.upload_presets[name]
    return ok({"message": "deleted"})


# Upload mappings: folder -> URL template, for auto-upload (fetching) on delivery.


def _folder(params: dict[str, Any]) -> str:
    folder = param(params, "folder")
    if not folder:
        raise ApiError(400, "Missing required parameter - folder")
    return folder


def _mapping(state: State, folder: str) -> dict[str, Any]:
    mapping = state.upload_mappings.get(folder)
    if mapping is None:
        raise ApiError(404, f"Mapping {folder} not found")
    return mapping


def _template(params: dict[str, Any]) -> str:
    template = param(params, "template")
    if not template:
        raise ApiError(400, "Missing required parameter - template")
    return template


def get_mappings(state: State, req: Request) -> Response:
    query = dict(req.query)
    if "folder" in query:
        return ok(dict(_mapping(state, _folder(query))))
    limit = max_results(query, default=10)
    folders = sorted(state.upload_mappings)
    if token := param(query, "next_cursor"):
        after = str(cursor.decode(token, "mappings")[0])
        folders = [f for f in folders if f > after]
    body: dict[str, Any] = {
        "mappings": [dict(state.upload_mappings[f]) for f in folders[:limit]]
    }
    if len(folders) > limit:
        body["next_cursor"] = cursor.encode("mappings", [folders[limit - 1]])
    return ok(body)


def create_mapping(state: State, req: Request) -> Response:
    params = req.json()
    folder, template = _folder(params), _template(params)
    with state.store.lock:
        if folder in state.upload_mappings:
            raise ApiError(409, f"Folder {folder} already exists")
        state.upload_mappings[folder] = {"folder": folder, "template": template}
    return ok({"message": "created"})


def update_mapping(state: State, req: Request) -> Response:
    params = req.json()
    folder, template = _folder(params), _template(params)
    with state.store.lock:
        _mapping(state, folder)["template"] = template
    return ok({"message": "updated"})


def delete_mapping(state: State, req: Request) -> Response:
    folder = _folder(req.json() or dict(req.query))
    with state.store.lock:
        _mapping(state, folder)
        del state.upload_mappings[folder]
    return ok({"message": "deleted"})
