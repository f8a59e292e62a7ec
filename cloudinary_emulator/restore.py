"""Backups of asset versions and the Admin API restore: by public_id, by asset_id,
`versions` in the resource details, and deleting backed-up versions.

An asset uploaded with `backup=true` keeps a copy of every version (Asset.backups,
oldest first). Deleting such an asset leaves a placeholder (State.placeholders) that
`resource` still shows, with `bytes` 0 and `placeholder` true, until a restore.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from cloudinary_emulator import admin_payloads
from cloudinary_emulator.errors import ApiError, not_found
from cloudinary_emulator.listing import id_list, param
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.render import admin_detail
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Asset, random_hex
from cloudinary_emulator.timefmt import iso_seconds

Handler = Callable[[State, Request], Response]
_SNAPSHOT = ("version_id", "version", "format", "bytes", "width", "height", "etag")


def route(method: str, segments: list[str]) -> tuple[str, Handler] | None:
    if not segments or segments[0] != "resources":
        return None
    rest = segments[1:]
    if rest == ["restore"] and method == "POST":
        return "restore", by_asset_ids
    if len(rest) == 3 and rest[2] == "restore" and method == "POST":
        resource_type, dtype = rest[0], unquote(rest[1])
        return "restore", lambda s, r: by_public_ids(s, r, resource_type, dtype)
    if len(rest) == 2 and rest[0] == "backup" and method == "DELETE":
        asset_id = rest[1]
        return "delete_backed_up_assets", lambda s, r: delete_backups(s, r, asset_id)
    return None


def keep_backup(asset: Asset) -> None:
    """Back up the asset's current version (the upload's `backup=true`)."""
    if asset.backups and asset.backups[-1]["version_id"] == asset.version_id:
        return
    snapshot = {name: getattr(asset, name) for name in _SNAPSHOT}
    snapshot["time"] = time.time()
    asset.backups.append(snapshot)


def after_delete(state: State, asset: Asset) -> None:
    """A deleted asset with backups stays visible as a placeholder (store lock held)."""
    if asset.backups:
        state.placeholders[asset.key] = asset


def placeholder_detail(asset: Asset, cloud_name: str) -> dict[str, Any]:
    body = admin_detail(asset, cloud_name)
    body.update(bytes=0, placeholder=True, derived=[])
    return body


def versions_field(asset: Asset) -> list[dict[str, Any]]:
    return [
        {
            "version_id": b["version_id"],
            "version": b["version"],
            "format": b["format"],
            "size": b["bytes"],
            "time": iso_seconds(b["time"]),
            # the live version is the one a restore would not change
            "restorable": not (b["version_id"] == asset.version_id and asset.bytes > 0),
        }
        for b in asset.backups
    ]


def _restore_one(
    state: State, asset: Asset, live: bool, version_id: str | None
) -> dict[str, Any]:
    if not asset.backups:
        return {"error": "No backup found"}
    chosen = asset.backups[-1]
    if version_id:
        matches = [b for b in asset.backups if b["version_id"] == version_id]
        if not matches:
            return {"error": f"Version {version_id} not found"}
        chosen = matches[0]
    store = state.store
    now = time.time()
    asset.version = max(int(now), asset.version + 1)
    asset.version_id = random_hex(1)[0]
    for name in ("format", "bytes", "width", "height", "etag"):
        setattr(asset, name, chosen[name])
    asset.uploaded_at = int(now)
    asset.updated_at = max(now, asset.updated_at + 1e-6)
    keep_backup(asset)
    if live:
        store.touch()
    else:
        state.placeholders.pop(asset.key, None)
        store.add(asset)
    return admin_detail(asset, state.account.cloud_name)


def _versions(params: dict[str, Any], count: int) -> list[str | None]:
    versions: list[str | None] = list(id_list(params, "versions"))
    return versions + [None] * (count - len(versions))


def by_public_ids(
    state: State, req: Request, resource_type: str, dtype: str
) -> Response:
    params = req.json()
    public_ids = id_list(params, "public_ids")
    if not public_ids:
        raise ApiError(400, "Missing required parameter - public_ids")
    versions = _versions(params, len(public_ids))
    body: dict[str, Any] = {}
    notes = []
    store = state.store
    with store.lock:
        for public_id, version_id in zip(public_ids, versions, strict=False):
            live = store.get(resource_type, dtype, public_id)
            asset = live or state.placeholders.get((resource_type, dtype, public_id))
            if asset is None:
                body[public_id] = {"error": "Resource not found"}
                continue
            body[public_id] = _restore_one(state, asset, live is not None, version_id)
            if "error" not in body[public_id]:
                notes.append(admin_payloads.restored(asset, state.account.api_key))
        state.notify(notes, param(params, "notification_url"))
    return ok(body)


def by_asset_ids(state: State, req: Request) -> Response:
    params = req.json()
    asset_ids = id_list(params, "asset_ids")
    if not asset_ids:
        raise ApiError(400, "Missing required parameter - asset_ids")
    versions = _versions(params, len(asset_ids))
    body: dict[str, Any] = {}
    notes = []
    store = state.store
    with store.lock:
        for asset_id, version_id in zip(asset_ids, versions, strict=False):
            live = store.by_asset_id(asset_id)
            asset = live or next(
                (a for a in state.placeholders.values() if a.asset_id == asset_id),
                None,
            )
            if asset is None:
                body[asset_id] = {"error": "Resource not found"}
                continue
            body[asset_id] = _restore_one(state, asset, live is not None, version_id)
            if "error" not in body[asset_id]:
                notes.append(admin_payloads.restored(asset, state.account.api_key))
        state.notify(notes, param(params, "notification_url"))
    return ok(body)


def delete_backups(state: State, req: Request, asset_id: str) -> Response:
    version_ids = id_list(req.json(), "version_ids")
    if not version_ids:
        raise ApiError(400, "Missing required parameter - version_ids")
    store = state.store
    with store.lock:
        asset = store.by_asset_id(asset_id) or next(
            (a for a in state.placeholders.values() if a.asset_id == asset_id), None
        )
        if asset is None:
            raise not_found(asset_id)
        known = {b["version_id"] for b in asset.backups}
        deleted = [v for v in version_ids if v in known]
        asset.backups = [b for b in asset.backups if b["version_id"] not in deleted]
        if not asset.backups:
            state.placeholders.pop(asset.key, None)
    return ok(
        {
            "asset_id": asset_id,
            "deleted_version_ids": deleted,
            "failed_version_ids": [v for v in version_ids if v not in known],
        }
    )
