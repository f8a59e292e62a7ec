"""One asset by its key or its asset_id, or Cloudinary's 404 for the name asked for."""

from __future__ import annotations

from cloudinary_emulator.errors import not_found
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Asset


def asset_by_key(state: State, resource_type: str, dtype: str, public_id: str) -> Asset:
    asset = state.store.get(resource_type, dtype, public_id)
    if asset is None:
        raise not_found(public_id)
    return asset


def asset_by_asset_id(state: State, asset_id: str) -> Asset:
    asset = state.store.by_asset_id(asset_id)
    if asset is None:
        raise not_found(asset_id)
    return asset
