"""Notification bodies for the Admin API areas beyond resources: folders, moderation,
access control and restores (reference §1.5-1.6; the uploads' are in payloads.py)."""

from __future__ import annotations

import time
from typing import Any

from cloudinary_emulator.payloads import Payload
from cloudinary_emulator.render import delivery_url
from cloudinary_emulator.store import Asset
from cloudinary_emulator.timefmt import iso_micros


def _finish(body: Payload, api_key: str) -> Payload:
    body["notification_context"] = {
        "triggered_at": iso_micros(time.time()),
        "triggered_by": {"source": "api", "id": api_key},
    }
    return body


def folder_created(folder: dict[str, Any], api_key: str) -> Payload:
    body: Payload = {
        "notification_type": "create_folder",
        "folder_name": folder["name"],
        "folder_path": folder["path"],
        "external_id": folder["external_id"],
    }
    return _finish(body, api_key)


def folder_deleted(folder: dict[str, Any], api_key: str) -> Payload:
    body: Payload = {
        "notification_type": "delete_folder",
        "folder_name": folder["name"],
        "folder_path": folder["path"],
        "external_id": folder["external_id"],
    }
    return _finish(body, api_key)


def folder_moved(
    from_path: str, to_path: str, external_id: str, api_key: str
) -> Payload:
    body: Payload = {
        "notification_type": "move_or_rename_asset_folder",
        "from_path": from_path,
        "to_path": to_path,
        "external_id": external_id,
    }
    return _finish(body, api_key)


def moderation(
    asset: Asset, entry: dict[str, Any], cloud: str, api_key: str
) -> Payload:
    body: Payload = {
        "notification_type": "moderation",
        "public_id": asset.public_id,
        "asset_id": asset.asset_id,
        "resource_type": asset.resource_type,
        "type": asset.type,
        "version": asset.version,
        "moderation_status": entry["status"],
        "moderation_kind": entry["kind"],
        "moderation_updated_at": entry.get("updated_at"),
        "url": delivery_url(asset, cloud, secure=False),
        "secure_url": delivery_url(asset, cloud, secure=True),
    }
    return _finish(body, api_key)


def access_control_changed(changes: list[tuple[Asset, Any]], api_key: str) -> Payload:
    resources = [
        {
            "asset_id": asset.asset_id,
            "public_id": asset.public_id,
            "resource_type": asset.resource_type,
            "type": asset.type,
            "access_control": asset.access_control,
            "previous_access_control": previous,
        }
        for asset, previous in changes
    ]
    body: Payload = {
        "notification_type": "access_control_changed",
        "source": "api",
        "resources": resources,
    }
    return _finish(body, api_key)


def restored(asset: Asset, api_key: str) -> Payload:
    # Cloudinary documents no notification for an Admin API restore; the nearest type
    # it lists is `restore_asset_version` (shape unknown). The emulator sends that with
    # the identifiers every other single-asset event carries, so a receiver re-fetches.
    body: Payload = {
        "notification_type": "restore_asset_version",
        "asset_id": asset.asset_id,
        "public_id": asset.public_id,
        "resource_type": asset.resource_type,
        "type": asset.type,
        "version": asset.version,
        "version_id": asset.version_id,
    }
    return _finish(body, api_key)
