"""Datasources of enum and set metadata fields: add or update entries, delete (a soft
delete: the entry turns inactive and stays restorable), restore, order by value.

Each call answers with the datasource as Cloudinary does: `{"values": [...]}` holding the
active entries only; the field definition lists every entry with its state.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.messages import Request, Response, ok

if TYPE_CHECKING:
    from cloudinary_emulator.state import State

Entry = dict[str, Any]
Handler = Callable[["State", Request], Response]


def handler(method: str, field_id: str, tail: list[str]) -> Handler | None:
    """The handler for a path below /metadata_fields/<field_id>/, else None."""
    if tail == ["datasource"] and method == "PUT":
        return lambda s, r: update(s, r, field_id)
    if tail == ["datasource"] and method == "DELETE":
        return lambda s, r: set_state(s, r, field_id, "inactive")
    if tail == ["datasource_restore"] and method == "POST":
        return lambda s, r: set_state(s, r, field_id, "active")
    if tail == ["datasource", "order"] and method == "POST":
        return lambda s, r: order(s, r, field_id)
    return None


def new_entries(values: Any) -> list[Entry]:
    """A datasource's entries as given on create: each gets an external_id and a state."""
    return merged([], values)


def merged(entries: list[Entry], values: Any) -> list[Entry]:
    """Entries updated in place by external_id; entries with a new (or no) id appended."""
    if not isinstance(values, list) or not values:
        raise ApiError(400, "Datasource values must be a non empty array")
    result = copy.deepcopy(entries)
    by_id = {e["external_id"]: e for e in result}
    for item in values:
        if not isinstance(item, dict):
            raise ApiError(400, "Each datasource value must be an object")
        value = item.get("value")
        if not isinstance(value, str) or not value:
            raise ApiError(400, "Missing required parameter - value")
        external_id = item.get("external_id") or uuid.uuid4().hex[:16]
        if not isinstance(external_id, str):
            raise ApiError(
                400, f"Invalid value {external_id} for parameter external_id"
            )
        if external_id in by_id:
            by_id[external_id]["value"] = value
            if "state" in item:
                by_id[external_id]["state"] = _state_value(item["state"])
        else:
            entry = {
                "external_id": external_id,
                "value": value,
                "state": _state_value(item.get("state", "active")),
            }
            result.append(entry)
            by_id[external_id] = entry
    active = [e["value"] for e in result if e["state"] == "active"]
    duplicate = next((v for v in active if active.count(v) > 1), None)
    if duplicate is not None:
        raise ApiError(400, f"Datasource value {duplicate} already exists")
    return result


def _state_value(state: Any) -> str:
    if state not in ("active", "inactive"):
        raise ApiError(400, f"Invalid value {state} for parameter state")
    return str(state)


def _answer(field: dict[str, Any]) -> Response:
    # Only active entries, and without their state, as Cloudinary answers these calls.
    values = field["datasource"]["values"]
    return ok(
        {
            "values": [
                {"external_id": e["external_id"], "value": e["value"]}
                for e in values
                if e["state"] == "active"
            ]
        }
    )


def _list_field(state: State, field_id: str) -> dict[str, Any]:
    field = state.metadata.require_field(field_id)
    if "datasource" not in field:
        raise ApiError(400, f"Metadata field {field_id} has no datasource")
    return field


def update(state: State, req: Request, field_id: str) -> Response:
    values = req.json().get("values")
    with state.metadata.lock:
        field = _list_field(state, field_id)
        field["datasource"]["values"] = merged(field["datasource"]["values"], values)
        return _answer(field)


def set_state(state: State, req: Request, field_id: str, new_state: str) -> Response:
    external_ids = req.json().get("external_ids")
    if not isinstance(external_ids, list) or not external_ids:
        raise ApiError(400, "Missing required parameter - external_ids")
    if not all(isinstance(i, str) for i in external_ids):
        raise ApiError(400, "Invalid value for parameter external_ids")
    with state.metadata.lock:
        field = _list_field(state, field_id)
        entries = {e["external_id"]: e for e in field["datasource"]["values"]}
        missing = [str(i) for i in external_ids if i not in entries]
        if missing:
            raise ApiError(404, f"Datasource entries {', '.join(missing)} not found")
        for external_id in external_ids:
            entries[external_id]["state"] = new_state
        return _answer(field)


def order(state: State, req: Request, field_id: str) -> Response:
    params = req.json()
    order_by, direction = params.get("order_by"), params.get("direction") or "asc"
    if order_by != "value":
        raise ApiError(400, f"Invalid value {order_by} for parameter order_by")
    if direction not in ("asc", "desc"):
        raise ApiError(400, f"Invalid value {direction} for parameter direction")
    with state.metadata.lock:
        field = _list_field(state, field_id)
        field["datasource"]["values"].sort(
            key=lambda e: e["value"], reverse=direction == "desc"
        )
        return _answer(field)
