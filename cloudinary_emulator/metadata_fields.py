"""Admin API structured-metadata fields: list, get, create, update, delete, reorder.

Datasource entries (the lists behind enum and set fields) are handled in
metadata_datasource.py; both live in the registry on State (metadata_registry.py).
"""

from __future__ import annotations

import copy
import itertools
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from cloudinary_emulator import metadata_datasource
from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.metadata_registry import Definition
from cloudinary_emulator.metadata_validation import FIELD_TYPES, check, check_rule
from cloudinary_emulator.state import State

Handler = Callable[[State, Request], Response]
# One counter (and fault) name for every call on fields and their datasources.
ENDPOINT = "metadata_fields"
MAX_EXTERNAL_ID = 255
FIELD_ORDERS = ("label", "external_id", "created_at")
_LIST_TYPES = ("enum", "set")
# Keys starting with "_" are bookkeeping, never returned.
_CREATED = "_created"
_sequence = itertools.count()
# Error wording: Cloudinary's own SDK suites (cloudinary_npm structured_metadata_spec)
# expect "external id <id> already exists" and "default_value is invalid".


def route(method: str, segments: list[str]) -> tuple[str, Handler] | None:
    """(endpoint name, handler) for /v1_1/<cloud>/metadata_fields[/...], else None."""
    if not segments or segments[0] != "metadata_fields":
        return None
    rest = [unquote(s) for s in segments[1:]]
    handler: Handler | None = None
    if not rest:
        handler = {"GET": list_fields, "POST": create_field}.get(method)
    elif rest == ["order"] and method == "PUT":
        handler = reorder_fields
    elif len(rest) == 1:
        field_id = rest[0]
        handler = {
            "GET": lambda s, r: get_field(s, field_id),
            "PUT": lambda s, r: update_field(s, r, field_id),
            "DELETE": lambda s, r: delete_field(s, field_id),
        }.get(method)
    else:
        handler = metadata_datasource.handler(method, rest[0], rest[1:])
    return (ENDPOINT, handler) if handler is not None else None


def public(field: Definition) -> Definition:
    return {k: copy.deepcopy(v) for k, v in field.items() if not k.startswith("_")}


def list_fields(state: State, req: Request) -> Response:
    return ok({"metadata_fields": [public(f) for f in state.metadata.fields()]})


def get_field(state: State, external_id: str) -> Response:
    registry = state.metadata
    with registry.lock:
        return ok(public(registry.require_field(external_id)))


def create_field(state: State, req: Request) -> Response:
    params = req.json()
    registry = state.metadata
    with registry.lock:
        external_id = params.get("external_id")
        if external_id is None or external_id == "":
            external_id = str(uuid.uuid4())
        if not isinstance(external_id, str) or len(external_id) > MAX_EXTERNAL_ID:
            raise ApiError(
                400, f"Invalid value {external_id} for parameter external_id"
            )
        if registry.field(external_id) is not None:
            raise ApiError(
                400, f"A field with external id {external_id} already exists"
            )
        kind = params.get("type")
        if kind is None or kind == "":
            raise ApiError(400, "Missing required parameter - type")
        if kind not in FIELD_TYPES:
            raise ApiError(400, f"Invalid value {kind} for parameter type")
        field: Definition = {"type": kind, "external_id": external_id}
        if kind in _LIST_TYPES:
            source = params.get("datasource")
            if not isinstance(source, dict) or "values" not in source:
                raise ApiError(400, "Missing required parameter - datasource")
            field["datasource"] = {
                "values": metadata_datasource.new_entries(source["values"])
            }
        _apply(field, params, creating=True)
        field[_CREATED] = (time.time(), next(_sequence))
        registry.put_field(field)
        return ok(public(field))


def update_field(state: State, req: Request, external_id: str) -> Response:
    """external_id and type never change; whatever else is given replaces the old."""
    params = req.json()
    registry = state.metadata
    with registry.lock:
        field = copy.deepcopy(registry.require_field(external_id))
        source = params.get("datasource")
        if field["type"] in _LIST_TYPES and isinstance(source, dict):
            field["datasource"] = {
                "values": metadata_datasource.merged(
                    field["datasource"]["values"], source.get("values")
                )
            }
        _apply(field, params, creating=False)
        registry.put_field(field)
        return ok(public(field))


def delete_field(state: State, external_id: str) -> Response:
    registry = state.metadata
    with registry.lock:
        registry.require_field(external_id)
        registry.remove_field(external_id)
    # Assets lose their value for a field that no longer exists. (Never take the store
    # lock while holding the registry's: asset writers take them the other way round.)
    store = state.store
    with store.lock:
        for asset in store.snapshot():
            if asset.metadata.pop(external_id, None) is not None:
                store.touch()
    return ok({"message": "ok"})


def reorder_fields(state: State, req: Request) -> Response:
    params = req.json()
    order_by, direction = params.get("order_by"), params.get("direction") or "asc"
    if order_by not in FIELD_ORDERS:
        raise ApiError(400, f"Invalid value {order_by} for parameter order_by")
    if direction not in ("asc", "desc"):
        raise ApiError(400, f"Invalid value {direction} for parameter direction")
    registry = state.metadata
    with registry.lock:
        fields = registry.fields()
        key = _CREATED if order_by == "created_at" else order_by
        fields.sort(key=lambda f: f[key], reverse=direction == "desc")
        registry.set_field_order([f["external_id"] for f in fields])
        return ok({"metadata_fields": [public(f) for f in fields]})


def _apply(field: Definition, params: dict[str, Any], *, creating: bool) -> None:
    """Set the settable keys from params (all of them, with defaults, when creating)."""
    kind = field["type"]
    if creating or "label" in params:
        label = params.get("label")
        if not isinstance(label, str) or not label.strip():
            raise ApiError(400, "Missing required parameter - label")
        field["label"] = label
    for flag in ("mandatory", "default_disabled"):
        if creating or flag in params:
            field[flag] = _flag(params, flag)
    if creating or "validation" in params:
        rule = params.get("validation")
        if rule is not None:
            check_rule(rule, kind)
        field["validation"] = rule
    if creating or "default_value" in params:
        field["default_value"] = params.get("default_value")
    if creating or "restrictions" in params:
        restrictions = params.get("restrictions") or {}
        if not isinstance(restrictions, dict):
            raise ApiError(400, "Invalid value for parameter restrictions")
        field["restrictions"] = {"readonly_ui": False, **restrictions}
    if kind in _LIST_TYPES and (creating or "allow_dynamic_list_values" in params):
        field["allow_dynamic_list_values"] = _flag(params, "allow_dynamic_list_values")
    default = field["default_value"]
    if default is not None:
        try:
            field["default_value"] = check(field, default)
        except ValueError as exc:
            raise ApiError(400, f"default_value is invalid: {exc}") from None
    elif field["mandatory"]:
        raise ApiError(400, "A mandatory field must have a default value")


def _flag(params: dict[str, Any], name: str) -> bool:
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise ApiError(400, f"Invalid value {value} for parameter {name}")
    return value
