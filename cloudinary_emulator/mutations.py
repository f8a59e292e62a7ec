"""Changes to an existing asset's tags, context, names and metadata, and the
notifications each change produces. Callers hold the store lock."""

from __future__ import annotations

import time
from typing import Any

from cloudinary_emulator import payloads
from cloudinary_emulator.payloads import Pair, Payload
from cloudinary_emulator.store import Asset, Store


def _stamp(store: Store, asset: Asset, facet: str | None) -> None:
    now = time.time()
    # updated_at must move on every change, even two in one second, for incremental sync.
    asset.updated_at = max(now, asset.updated_at + 1e-6)
    if facet:
        asset.last_updated[facet] = asset.updated_at
    store.touch()


def set_tags(
    store: Store, asset: Asset, tags: list[str]
) -> tuple[list[str], list[str]] | None:
    """Replace the tag set; (added, removed), or None when nothing changed."""
    added = [t for t in tags if t not in asset.tags]
    removed = [t for t in asset.tags if t not in tags]
    if not added and not removed:
        return None
    asset.tags = list(tags)
    _stamp(store, asset, "tags_updated_at")
    return added, removed


def set_context(
    store: Store, asset: Asset, context: dict[str, str]
) -> tuple[list[Pair], list[Pair], list[Pair]] | None:
    """Replace the context; (added, updated, removed) as {name, value} lists."""
    old = asset.context
    added = [{"name": k, "value": v} for k, v in context.items() if k not in old]
    updated = [
        {"name": k, "value": v} for k, v in context.items() if k in old and old[k] != v
    ]
    removed = [{"name": k, "value": v} for k, v in old.items() if k not in context]
    if not (added or updated or removed):
        return None
    asset.context = dict(context)
    _stamp(store, asset, "context_updated_at")
    return added, updated, removed


def update(
    store: Store,
    asset: Asset,
    api_key: str,
    *,
    tags: list[str] | None = None,
    context: dict[str, str] | None = None,
    metadata: dict[str, Any] | None = None,
    display_name: str | None = None,
    asset_folder: str | None = None,
) -> list[Payload]:
    """Apply the given changes (None = leave alone); one notification per kind changed."""
    out: list[Payload] = []
    if tags is not None and (tag_diff := set_tags(store, asset, tags)):
        out.append(payloads.tags_changed([(asset, *tag_diff)], api_key))
    if context is not None and (context_diff := set_context(store, asset, context)):
        out.append(payloads.context_changed([(asset, *context_diff)], api_key))
    if metadata is not None:
        # None (or "") clears a field; values come checked from metadata_values.
        merged = {
            k: v
            for k, v in {**asset.metadata, **metadata}.items()
            if v is not None and v != ""
        }
        if merged != asset.metadata:
            previous, asset.metadata = asset.metadata, merged
            _stamp(store, asset, "metadata_updated_at")
            out.append(payloads.metadata_changed(asset, previous, api_key))
    if display_name is not None and display_name != asset.display_name:
        old_name, asset.display_name = asset.display_name, display_name
        _stamp(store, asset, None)
        out.append(payloads.display_name_changed(asset, old_name, api_key))
    if asset_folder is not None and asset_folder.strip("/") != asset.asset_folder:
        old_folder, asset.asset_folder = asset.asset_folder, asset_folder.strip("/")
        _stamp(store, asset, None)
        out.append(payloads.move(asset, old_folder, api_key))
    return out


def renamed(store: Store, asset: Asset) -> None:
    _stamp(store, asset, "public_id_updated_at")


def set_moderation(store: Store, asset: Asset, status: str) -> dict[str, Any] | None:
    """Approve or reject: the manual (else latest) moderation entry takes the status;
    an asset under no moderation gets a manual one. The entry, or None if unchanged."""
    if not asset.moderation:
        asset.moderation.append({"kind": "manual", "status": "pending"})
    manual = [m for m in asset.moderation if m["kind"] == "manual"]
    entry = (manual or asset.moderation)[-1]
    if entry["status"] == status:
        return None
    entry["status"] = status
    _stamp(store, asset, None)
    entry["updated_at"] = asset.updated_at
    return entry


def set_access(
    store: Store,
    asset: Asset,
    access_control: list[dict[str, Any]] | None,
    access_mode: str | None,
) -> list[dict[str, Any]] | bool | None:
    """Change access control and/or mode; the previous access_control, or False if
    nothing changed."""
    previous = asset.access_control
    changed = False
    if access_control is not None and access_control != asset.access_control:
        asset.access_control = access_control
        changed = True
    if access_mode is not None and access_mode != asset.access_mode:
        asset.access_mode = access_mode
        changed = True
    if not changed:
        return False
    _stamp(store, asset, "access_control_updated_at")
    return previous
