"""The checked form of an Upload API call: signed, or unsigned through an upload preset,
with the preset's settings filled in where the call leaves them out."""

from __future__ import annotations

import json
from typing import Any

from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.forms import Form
from cloudinary_emulator.messages import Request
from cloudinary_emulator.signing import check_upload_request
from cloudinary_emulator.state import State

# Actions that take an upload preset (the others ignore `upload_preset`).
_PRESET_ACTIONS = frozenset({"upload", "explicit"})


def signed_form(state: State, req: Request, action: str) -> Form:
    form = req.form()
    preset_name = form.get("upload_preset")
    unsigned = "signature" not in form.fields and action in _PRESET_ACTIONS
    if unsigned:
        if not preset_name:
            raise ApiError(
                400, "Upload preset must be specified when using unsigned upload"
            )
        preset = _preset(state, preset_name)
        if not preset.get("unsigned"):
            raise ApiError(
                400, "Upload preset must be whitelisted for unsigned uploads"
            )
    else:
        account = state.account
        check_upload_request(
            form.fields,
            action,
            account.api_key,
            account.api_secret,
            account.signature_algorithm,
        )
        if not preset_name or action not in _PRESET_ACTIONS:
            return form
        preset = _preset(state, preset_name)
    for name, value in dict(preset.get("settings") or {}).items():
        if name not in form.fields and value is not None:
            form.fields[name] = _as_field(value)
    return form


def _preset(state: State, name: str) -> dict[str, Any]:
    preset = state.upload_presets.get(name)
    if preset is None:
        raise ApiError(400, f"Upload preset not found - {name}")
    return preset


def _as_field(value: Any) -> str | list[str]:
    """A preset setting (stored as JSON) in the form a request would have sent it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        if all(isinstance(item, str | int | float) for item in value):
            return [str(item) for item in value]
        return json.dumps(value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)
