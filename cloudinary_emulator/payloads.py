"""Notification bodies, shaped as Cloudinary sends them (reference §1.5-1.6)."""

from __future__ import annotations

import time
from typing import Any

from cloudinary_emulator.config import Account
from cloudinary_emulator.render import upload_result
from cloudinary_emulator.store import Asset
from cloudinary_emulator.timefmt import iso_micros, iso_offset

Payload = dict[str, Any]
Pair = dict[str, str]  # {"name": ..., "value": ...} as context diffs carry them


def _finish(body: Payload, api_key: str) -> Payload:
    body["notification_context"] = {
        "triggered_at": iso_micros(time.time()),
        "triggered_by": {"source": "api", "id": api_key},
    }
    return body


def _ids(asset: Asset) -> Payload:
    return {
        "asset_id": asset.asset_id,
        "public_id": asset.public_id,
        "resource_type": asset.resource_type,
        "type": asset.type,
    }


def upload(
    asset: Asset, account: Account, request_id: str, overwritten: bool
) -> Payload:
    body: Payload = {
        "notification_type": "upload",
        "timestamp": iso_offset(time.time()),
        "request_id": request_id,
    }
    body.update(upload_result(asset, account))
    body.pop("signature", None)
    if overwritten:
        body["overwritten"] = True
    return _finish(body, account.api_key)


def delete(assets: list[Asset], api_key: str) -> Payload:
    resources = [
        {
            "resource_type": a.resource_type,
            "type": a.type,
            "asset_id": a.asset_id,
            "public_id": a.public_id,
            "version": a.version,
            "asset_folder": a.asset_folder,
            "display_name": a.display_name,
        }
        for a in assets
    ]
    return _finish({"notification_type": "delete", "resources": resources}, api_key)


def rename(asset: Asset, from_public_id: str, api_key: str) -> Payload:
    body: Payload = {
        "notification_type": "rename",
        "resource_type": asset.resource_type,
        "type": asset.type,
        "asset_id": asset.asset_id,
        "from_public_id": from_public_id,
        "to_public_id": asset.public_id,
        "asset_folder": asset.asset_folder,
        "display_name": asset.display_name,
    }
    return _finish(body, api_key)


def tags_changed(
    changes: list[tuple[Asset, list[str], list[str]]], api_key: str
) -> Payload:
    resources = [
        {**_ids(asset), "added": added, "removed": removed}
        for asset, added, removed in changes
    ]
    body: Payload = {
        "notification_type": "resource_tags_changed",
        "source": "api",
        "resources": resources,
    }
    return _finish(body, api_key)


def context_changed(
    changes: list[tuple[Asset, list[Pair], list[Pair], list[Pair]]], api_key: str
) -> Payload:
    # Keyed by public_id: this event's `resources` is a map, unlike tags_changed.
    resources = {
        asset.public_id: {
            "asset_id": asset.asset_id,
            "resource_type": asset.resource_type,
            "type": asset.type,
            "added": added,
            "updated": updated,
            "removed": removed,
        }
        for asset, added, updated, removed in changes
    }
    body: Payload = {
        "notification_type": "resource_context_changed",
        "source": "api",
        "resources": resources,
    }
    return _finish(body, api_key)


def display_name_changed(asset: Asset, old: str, api_key: str) -> Payload:
    resource = {
        **_ids(asset),
        "new_display_name": asset.display_name,
        "old_display_name": old,
    }
    body: Payload = {
        "notification_type": "resource_display_name_changed",
        "source": "api",
        "resources": {asset.public_id: resource},
    }
    return _finish(body, api_key)


def move(asset: Asset, from_folder: str, api_key: str) -> Payload:
    resource = {
        "asset_id": asset.asset_id,
        "resource_type": asset.resource_type,
        "type": asset.type,
        "from_asset_folder": from_folder,
        "to_asset_folder": asset.asset_folder,
        "display_name": asset.display_name,
    }
    body: Payload = {
        "notification_type": "move",
        "source": "api",
        "resources": {asset.public_id: resource},
    }
    return _finish(body, api_key)


def metadata_changed(asset: Asset, previous: dict[str, Any], api_key: str) -> Payload:
    # The inner shape of this event is unconfirmed (reference §1.5); receivers re-fetch.
    resource = {
        **_ids(asset),
        "previous_metadata": previous,
        "new_metadata": dict(asset.metadata),
    }
    body: Payload = {
        "notification_type": "resource_metadata_changed",
        "source": "api",
        "resources": {asset.public_id: resource},
    }
    return _finish(body, api_key)


def eager(asset: Asset, items: list[dict[str, Any]], batch_id: str) -> Payload:
    """Sent when asynchronous eager derivations finish (SDK test vector's key set)."""
    derived = [
        {
            k: item[k]
            for k in (
                "transformation",
                "width",
                "height",
                "bytes",
                "format",
                "url",
                "secure_url",
            )
            if k in item
        }
        for item in items
    ]
    return {
        "notification_type": "eager",
        "eager": derived,
        "public_id": asset.public_id,
        "batch_id": batch_id,
    }
