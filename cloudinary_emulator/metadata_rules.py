"""Admin API structured-metadata rules: list, create, update, delete.

A rule makes one field (`metadata_field_id`) depend on others (`condition`), e.g. enable
it or narrow its list values. The emulator stores and returns rules; it does not apply
them to assets (Cloudinary applies them in the Media Library UI).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.metadata_registry import Definition, MetadataRegistry
from cloudinary_emulator.state import State

Handler = Callable[[State, Request], Response]
RULE_STATES = ("active", "inactive")


def route(method: str, segments: list[str]) -> tuple[str, Handler] | None:
    """(endpoint name, handler) for /v1_1/<cloud>/metadata_rules[/<id>], else None."""
    if not segments or segments[0] != "metadata_rules" or len(segments) > 2:
        return None
    if len(segments) == 1:
        if method == "GET":
            return "metadata_rules", list_rules
        return ("metadata_rules", create_rule) if method == "POST" else None
    rule_id = unquote(segments[1])
    if method == "PUT":
        return "metadata_rules", lambda s, r: update_rule(s, r, rule_id)
    if method == "DELETE":
        return "metadata_rules", lambda s, r: delete_rule(s, rule_id)
    return None


def list_rules(state: State, req: Request) -> Response:
    return ok({"metadata_rules": state.metadata.rules()})


def create_rule(state: State, req: Request) -> Response:
    params = req.json()
    registry = state.metadata
    with registry.lock:
        external_id = params.get("external_id") or str(uuid.uuid4())
        if not isinstance(external_id, str):
            raise ApiError(
                400, f"Invalid value {external_id} for parameter external_id"
            )
        if registry.rule(external_id) is not None:
            raise ApiError(400, f"A rule with external id {external_id} already exists")
        rule: Definition = {"external_id": external_id, "state": "active"}
        for name in ("metadata_field_id", "name", "condition", "result"):
            if name not in params:
                raise ApiError(400, f"Missing required parameter - {name}")
        _apply(registry, rule, params)
        registry.put_rule(rule)
        return ok(dict(rule))


def update_rule(state: State, req: Request, external_id: str) -> Response:
    params = req.json()
    registry = state.metadata
    with registry.lock:
        found = registry.rule(external_id)
        if found is None:
            raise ApiError(404, f"Metadata rule {external_id} not found")
        rule = dict(found)
        _apply(registry, rule, params)
        registry.put_rule(rule)
        return ok(dict(rule))


def delete_rule(state: State, external_id: str) -> Response:
    if not state.metadata.remove_rule(external_id):
        raise ApiError(404, f"Metadata rule {external_id} not found")
    return ok({"success": True})


def _apply(
    registry: MetadataRegistry, rule: Definition, params: dict[str, Any]
) -> None:
    if "metadata_field_id" in params:
        field_id = params["metadata_field_id"]
        if not isinstance(field_id, str) or registry.field(field_id) is None:
            raise ApiError(404, f"Metadata field {field_id} not found")
        rule["metadata_field_id"] = field_id
    if "name" in params:
        name = params["name"]
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, f"Invalid value {name} for parameter name")
        rule["name"] = name
    for part in ("condition", "result"):
        if part in params:
            if not isinstance(params[part], dict):
                raise ApiError(
                    400, f"Invalid value {params[part]} for parameter {part}"
                )
            rule[part] = params[part]
    if "state" in params:
        if params["state"] not in RULE_STATES:
            raise ApiError(400, f"Invalid value {params['state']} for parameter state")
        rule["state"] = params["state"]
