"""Admin API publish: make `authenticated` assets public (by public_ids, prefix or
tag), with a `publish` notification per call."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.forms import parse_bool
from cloudinary_emulator.listing import MAX_IDS, id_list, param
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.payloads import Payload
from cloudinary_emulator.render import admin_summary
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Asset
from cloudinary_emulator.timefmt import iso_micros

Handler = Callable[[State, Request], Response]
RESOURCE_TYPES = ("image", "video", "raw")


def route(method: str, segments: list[str]) -> tuple[str, Handler] | None:
    if (
        method == "POST"
        and len(segments) == 3
        and segments[0] == "resources"
        and segments[1] in RESOURCE_TYPES
        and segments[2] == "publish_resources"
    ):
        resource_type = segments[1]
        return "publish_resources", lambda s, r: publish(s, r, resource_type)
    return None


def _chosen(state: State, params: dict[str, Any], resource_type: str) -> list[Asset]:
    dtype = param(params, "type") or "upload"
    candidates = [
        a
        for a in state.store.snapshot()
        if a.resource_type == resource_type and a.type == dtype
    ]
    if "public_ids" in params:
        wanted = id_list(params, "public_ids")
        if len(wanted) > MAX_IDS:
            raise ApiError(400, f"Too many public_ids; at most {MAX_IDS}")
        return [a for a in candidates if a.public_id in wanted]
    if "prefix" in params:
        prefix = param(params, "prefix")
        return [a for a in candidates if a.public_id.startswith(prefix)]
    if "tag" in params:
        tag = param(params, "tag")
        return [a for a in candidates if tag in a.tags]
    raise ApiError(400, "Must specify public_ids, prefix or tag")


def _note(assets: list[Asset], api_key: str) -> Payload:
    return {
        "notification_type": "publish",
        "resources": [
            {
                "asset_id": a.asset_id,
                "public_id": a.public_id,
                "resource_type": a.resource_type,
                "type": a.type,
                "access_mode": a.access_mode,
            }
            for a in assets
        ],
        "notification_context": {
            "triggered_at": iso_micros(time.time()),
            "triggered_by": {"source": "api", "id": api_key},
        },
    }


def publish(state: State, req: Request, resource_type: str) -> Response:
    params = req.json()
    store = state.store
    with store.lock:
        assets = sorted(
            _chosen(state, params, resource_type), key=lambda a: a.public_id
        )
        now = time.time()
        changed = [a for a in assets if a.access_mode != "public"]
        for asset in changed:
            asset.access_mode = "public"
            asset.updated_at = max(now, asset.updated_at + 1e-6)
        if changed:
            store.touch()
        if parse_bool(params.get("invalidate"), False) and assets:
            state.invalidations.record(
                "publish_resources",
                resource_type,
                param(params, "type") or "upload",
                [a.public_id for a in assets],
            )
        cloud = state.account.cloud_name
        body = {
            "published": [admin_summary(a, cloud, set()) for a in assets],
            "failed": [],
        }
        if changed:
            state.notify(
                [_note(changed, state.account.api_key)],
                param(params, "notification_url"),
            )
    return ok(body)
