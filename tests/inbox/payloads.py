"""Notification bodies shaped as in docs/reference cloudinary.md §1.5-1.6 (values invented)."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

BASE_TIME = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
_serial = itertools.count(1)


def at(seconds: float) -> str:
    """A triggered_at `seconds` after BASE_TIME, in Cloudinary's format."""
    moment = BASE_TIME + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def asset_id_for(public_id: str) -> str:
    return hashlib.md5(public_id.encode(), usedforsecurity=False).hexdigest()


def _context(seconds: float, source: str = "api") -> dict[str, Any]:
    return {"triggered_at": at(seconds), "triggered_by": {"source": source, "id": "k"}}


def upload(
    public_id: str, version: int, *, t: float = 0, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "notification_type": "upload",
        "timestamp": (BASE_TIME + timedelta(seconds=t)).isoformat(),
        "request_id": f"req-{next(_serial)}",
        "asset_id": asset_id_for(public_id),
        "public_id": public_id,
        "version": version,
        "version_id": f"vid-{version}",
        "width": 1600,
        "height": 1200,
        "format": "jpg",
        "resource_type": "image",
        "created_at": "2026-11-20T14:03:27Z",
        "tags": ["catalog"],
        "bytes": 284913,
        "type": "upload",
        "etag": "5d41402abc4b2a76b9719d911017c592",
        "placeholder": False,
        "url": f"http://res.cloudinary.com/demo/image/upload/v{version}/{public_id}.jpg",
        "secure_url": f"https://res.cloudinary.com/demo/image/upload/v{version}/{public_id}.jpg",
        "asset_folder": public_id.rpartition("/")[0],
        "display_name": public_id.rpartition("/")[2],
        "original_filename": "IMG_2041",
        "api_key": "test-key",
        "notification_context": _context(t),
    }
    body.update(fields)
    return body


def delete(public_id: str, version: int | None, *, t: float = 0) -> dict[str, Any]:
    item: dict[str, Any] = {
        "resource_type": "image",
        "type": "upload",
        "asset_id": asset_id_for(public_id),
        "public_id": public_id,
        "asset_folder": public_id.rpartition("/")[0],
        "display_name": public_id.rpartition("/")[2],
    }
    if version is not None:
        item["version"] = version
    return {
        "notification_type": "delete",
        "resources": [item],
        "notification_context": _context(t, "ui"),
    }


def rename(
    old: str, new: str, *, t: float = 0, asset_of: str | None = None
) -> dict[str, Any]:
    return {
        "notification_type": "rename",
        "resource_type": "image",
        "type": "upload",
        "asset_id": asset_id_for(asset_of or old),
        "from_public_id": old,
        "to_public_id": new,
        "asset_folder": new.rpartition("/")[0],
        "display_name": new.rpartition("/")[2],
        "notification_context": _context(t),
    }


def move(public_id: str, to_folder: str, *, t: float = 0) -> dict[str, Any]:
    return {
        "notification_type": "move",
        "source": "ui",
        "resources": {
            public_id: {
                "asset_id": asset_id_for(public_id),
                "resource_type": "image",
                "type": "upload",
                "from_asset_folder": public_id.rpartition("/")[0],
                "to_asset_folder": to_folder,
                "display_name": public_id.rpartition("/")[2],
            }
        },
        "notification_context": _context(t, "ui"),
    }


def tags_changed(
    public_id: str, added: list[str], removed: list[str], *, t: float = 0
) -> dict[str, Any]:
    return {
        "notification_type": "resource_tags_changed",
        "source": "ui",
        "resources": [
            {
                "asset_id": asset_id_for(public_id),
                "public_id": public_id,
                "resource_type": "image",
                "type": "upload",
                "added": added,
                "removed": removed,
            }
        ],
        "notification_context": _context(t, "ui"),
    }


def context_changed(
    public_id: str,
    *,
    added: dict[str, str] | None = None,
    updated: dict[str, str] | None = None,
    removed: dict[str, str] | None = None,
    t: float = 0,
) -> dict[str, Any]:
    def pairs(values: dict[str, str] | None) -> list[dict[str, str]]:
        return [{"name": k, "value": v} for k, v in (values or {}).items()]

    return {
        "notification_type": "resource_context_changed",
        "source": "ui",
        "resources": {
            public_id: {
                "resource_type": "image",
                "type": "upload",
                "added": pairs(added),
                "updated": pairs(updated),
                "removed": pairs(removed),
            }
        },
        "notification_context": _context(t, "ui"),
    }


def display_name_changed(public_id: str, name: str, *, t: float = 0) -> dict[str, Any]:
    return {
        "notification_type": "resource_display_name_changed",
        "source": "ui",
        "resources": [
            {
                "public_id": public_id,
                "resource_type": "image",
                "type": "upload",
                "new_display_name": name,
            }
        ],
        "notification_context": _context(t, "ui"),
    }


def metadata_changed(public_id: str, *, t: float = 0) -> dict[str, Any]:
    return {
        "notification_type": "resource_metadata_changed",
        "source": "ui",
        "resources": {
            public_id: {
                "asset_id": asset_id_for(public_id),
                "resource_type": "image",
                "type": "upload",
            }
        },
        "notification_context": _context(t, "ui"),
    }


def access_control_changed(public_id: str, *, t: float = 0) -> dict[str, Any]:
    return {
        "notification_type": "access_control_changed",
        "resources": [
            {
                "asset_id": asset_id_for(public_id),
                "public_id": public_id,
                "resource_type": "image",
                "type": "upload",
                "previous_access_control": [],
                "new_access_control": [{"access_type": "token"}],
            }
        ],
        "notification_context": _context(t),
    }


def restore_asset_version(public_id: str, *, t: float = 0) -> dict[str, Any]:
    return {
        "notification_type": "restore_asset_version",
        "asset_id": asset_id_for(public_id),
        "public_id": public_id,
        "resource_type": "image",
        "type": "upload",
        "notification_context": _context(t),
    }


def moderation(public_id: str, version: int, *, t: float = 0) -> dict[str, Any]:
    return {
        "notification_type": "moderation",
        "moderation_response": None,
        "moderation_status": "approved",
        "moderation_kind": "manual",
        "moderation_updated_at": "2026-11-20T14:05:00Z",
        "public_id": public_id,
        "uploaded_at": "2026-11-20T14:03:27Z",
        "version": version,
        "url": "http://res.cloudinary.com/demo/image/upload/x.jpg",
        "secure_url": "https://res.cloudinary.com/demo/image/upload/x.jpg",
        "notification_context": _context(t),
    }


def multi(tag: str, *, t: float = 0) -> dict[str, Any]:
    return {
        "notification_type": "multi",
        "public_id": tag,
        "asset_id": asset_id_for("multi:" + tag),
        "version": 1795183500,
        "url": "http://res.cloudinary.com/demo/image/multi/x.gif",
        "secure_url": "https://res.cloudinary.com/demo/image/multi/x.gif",
        "notification_context": _context(t),
    }


def eager(public_id: str) -> dict[str, Any]:
    return {
        "notification_type": "eager",
        "eager": [
            {
                "transformation": "sp_full_hd/mp4",
                "bytes": 1055,
                "url": "http://res.cloudinary.com/demo/video/upload/sp_full_hd/x.mp4",
                "secure_url": "https://res.cloudinary.com/demo/video/upload/sp_full_hd/x.mp4",
            }
        ],
        "public_id": public_id,
        "batch_id": "9b11fa058c61fa577f4ec516bf6ee756ac2aefef095af99aef1302142cc1694a",
    }


def create_folder(path: str) -> dict[str, Any]:
    return {
        "notification_type": "create_folder",
        "folder_name": path.rpartition("/")[2],
        "folder_path": path,
        "notification_context": _context(0, "ui"),
    }


def delete_folder(path: str) -> dict[str, Any]:
    return {
        "notification_type": "delete_folder",
        "folder_path": path,
        "notification_context": _context(0, "ui"),
    }


def folder_renamed(old: str, new: str, *, t: float = 0) -> dict[str, Any]:
    return {
        "notification_type": "move_or_rename_asset_folder",
        "from_path": old,
        "to_path": new,
        "notification_context": _context(t, "ui"),
    }


def delete_by_token(public_id: str, *, t: float = 0) -> dict[str, Any]:
    return {
        "notification_type": "delete_by_token",
        "resources": [
            {
                "asset_id": asset_id_for(public_id),
                "public_id": public_id,
                "resource_type": "image",
                "type": "upload",
            }
        ],
        "notification_context": _context(t),
    }
