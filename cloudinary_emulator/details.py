"""Admin API resource details (get one by public_id or asset_id): the asset, its
derived resources a page at a time, backed-up `versions` on request, and the
placeholder a deleted asset with backups leaves behind."""

from __future__ import annotations

from typing import Any

from cloudinary_emulator import derived, related, restore
from cloudinary_emulator.errors import not_found
from cloudinary_emulator.forms import parse_bool
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.render import admin_detail
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Asset


def by_key(
    state: State, req: Request, resource_type: str, dtype: str, public_id: str
) -> Response:
    key = (resource_type, dtype, public_id)
    with state.store.lock:
        asset = state.store.get(*key)
        if asset is not None:
            return ok(_detail(state, req, asset))
        placeholder = state.placeholders.get(key)
        if placeholder is None:
            raise not_found(public_id)
        return ok(_placeholder(state, req, placeholder))


def by_asset_id(state: State, req: Request, asset_id: str) -> Response:
    with state.store.lock:
        asset = state.store.by_asset_id(asset_id)
        if asset is not None:
            return ok(_detail(state, req, asset))
        for placeholder in state.placeholders.values():
            if placeholder.asset_id == asset_id:
                return ok(_placeholder(state, req, placeholder))
        raise not_found(asset_id)


def _detail(state: State, req: Request, asset: Asset) -> dict[str, Any]:
    body = admin_detail(asset, state.account.cloud_name)
    body.update(derived.derived_page(asset, dict(req.query)))
    if parse_bool(req.query.get("versions"), False):
        body["versions"] = restore.versions_field(asset)
    if parse_bool(req.query.get("related"), False):
        body["related_assets"] = related.related_field(state, asset)
    return body


def _placeholder(state: State, req: Request, asset: Asset) -> dict[str, Any]:
    body = restore.placeholder_detail(asset, state.account.cloud_name)
    if parse_bool(req.query.get("versions"), False):
        body["versions"] = restore.versions_field(asset)
    return body
