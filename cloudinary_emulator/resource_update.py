"""The parts of the Admin API update beyond tags, context, metadata and names:
moderation status, access control and mode, and the add-on requests the emulator
refuses (it runs no add-ons). Callers hold the store lock."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cloudinary_emulator import admin_payloads, mutations
from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.payloads import Payload
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Asset

# Values Cloudinary accepts for each add-on request; anything else is an illegal value.
_ADDONS = {
    "raw_convert": {"aspose", "google_speech", "extract_text", "azure_video_indexer"},
    "categorization": {
        "google_tagging",
        "google_video_tagging",
        "imagga_tagging",
        "aws_rek_tagging",
        "aws_rek_video_tagging",
        "azure_video_indexer",
    },
    "detection": {
        "adv_face",
        "aws_rek_face",
        "cld-fashion",
        "cld-text",
        "coco",
        "lvis",
    },
    "background_removal": {"cloudinary_ai", "pixelz", "remove_the_background"},
    "ocr": {"adv_ocr"},
    "auto_tagging": set(),
}
MODERATION_STATUSES = ("approved", "rejected")
ACCESS_MODES = ("public", "authenticated")
ACCESS_TYPES = ("anonymous", "token")


def check_addons(params: dict[str, Any]) -> None:
    """400 for an illegal value, 403 for a valid one: add-ons are not emulated."""
    for name, allowed in _ADDONS.items():
        if name not in params:
            continue
        raw = str(params[name])
        if name == "auto_tagging":
            _check_auto_tagging(raw)
            continue
        values = [v.strip() for v in raw.split(",") if v.strip()]
        if not values or any(v.split(":")[0] not in allowed for v in values):
            raise ApiError(400, f"Illegal value {raw} for parameter {name}")
        raise ApiError(403, f"The {raw} add-on is not available in the emulator")


def _check_auto_tagging(raw: str) -> None:
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, f"Illegal value {raw} for parameter auto_tagging") from None
    if not 0 <= value <= 1:
        raise ApiError(400, f"Illegal value {raw} for parameter auto_tagging")


def parse_access_control(raw: Any) -> list[dict[str, Any]]:
    """The JSON array the SDK sends (a single object is accepted too)."""
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            raise ApiError(400, f"Invalid access_control {raw}") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ApiError(400, f"Invalid access_control {raw}")
    for rule in value:
        if rule.get("access_type") not in ACCESS_TYPES:
            raise ApiError(
                400, f"Invalid access_type {rule.get('access_type')} in access_control"
            )
    return value


@dataclass
class Changes:
    moderation_status: str | None = None
    access_control: list[dict[str, Any]] | None = None
    access_mode: str | None = None


def validate(params: dict[str, Any]) -> Changes:
    """Check everything before anything changes, so a bad value changes nothing."""
    check_addons(params)
    changes = Changes()
    if "moderation_status" in params:
        status = str(params["moderation_status"])
        if status not in MODERATION_STATUSES:
            raise ApiError(
                400, f"Illegal value {status} for parameter moderation_status"
            )
        changes.moderation_status = status
    if "access_control" in params:
        changes.access_control = parse_access_control(params["access_control"])
    if "access_mode" in params:
        mode = str(params["access_mode"])
        if mode not in ACCESS_MODES:
            raise ApiError(400, f"Illegal value {mode} for parameter access_mode")
        changes.access_mode = mode
    return changes


def apply(state: State, asset: Asset, changes: Changes) -> list[Payload]:
    """Moderation and access changes from an update; their notifications."""
    out: list[Payload] = []
    account = state.account
    if changes.moderation_status is not None:
        entry = mutations.set_moderation(state.store, asset, changes.moderation_status)
        if entry is not None:
            out.append(
                admin_payloads.moderation(
                    asset, entry, account.cloud_name, account.api_key
                )
            )
    previous = mutations.set_access(
        state.store, asset, changes.access_control, changes.access_mode
    )
    if previous is not False:
        prior = previous if isinstance(previous, list) else None
        out.append(
            admin_payloads.access_control_changed([(asset, prior)], account.api_key)
        )
    return out
