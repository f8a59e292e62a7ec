"""Cloudinary resources (Admin list and get, Search) as media_assets column values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_REQUIRED = ("public_id", "resource_type", "type", "version")


def mirror_row(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The media_assets columns an Admin list/get or Search resource carries.

    Raises KeyError/ValueError/TypeError for a resource too broken to compare (counted as an
    error, never guessed at).
    """
    for name in _REQUIRED:
        if resource.get(name) in (None, ""):
            raise KeyError(name)
    return {
        "public_id": str(resource["public_id"]),
        "resource_type": str(resource["resource_type"]),
        "delivery_type": str(resource["type"]),
        "asset_id": resource.get("asset_id"),
        "version": int(resource["version"]),
        "format": resource.get("format") or None,
        "bytes": _int(resource.get("bytes")),
        "width": _int(resource.get("width")),
        "height": _int(resource.get("height")),
        "duration": _float(resource.get("duration")),
        # dynamic-folder accounts say asset_folder; fixed-folder ones say folder
        "folder": resource.get("asset_folder", resource.get("folder")),
        "display_name": resource.get("display_name"),
        "tags": [str(tag) for tag in resource.get("tags") or []],
        "context": _context(resource.get("context")),
        "metadata": dict(resource.get("metadata") or {}),
        "secure_url": resource.get("secure_url"),
        "etag": resource.get("etag"),
        "cloudinary_created_at": resource.get("created_at"),
        # None: the resource does not say (queries.sql keeps the row's)
        **_moderation(resource),
        "access_mode": resource.get("access_mode"),
        # stated along with access_mode (absent then = none), else kept (queries.sql)
        "access_control": _access_control(resource.get("access_control")),
    }


def mirror_rows(
    resources: Iterable[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """(rows, descriptions of the resources that could not be read)."""
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    for resource in resources:
        try:
            rows.append(mirror_row(resource))
        except (KeyError, ValueError, TypeError) as exc:
            errors.append(
                f"{resource.get('public_id', '?')}: {type(exc).__name__} {exc}"
            )
    return rows, errors


def _context(value: Any) -> dict[str, Any]:
    # The Admin API wraps custom context as {"custom": {...}}; the mirror keeps the pairs.
    if not isinstance(value, Mapping):
        return {}
    custom = value.get("custom", value)
    return dict(custom) if isinstance(custom, Mapping) else {}


def _moderation(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The latest moderation: the last of the `moderation` entries ({kind, status}), and
    `moderation_status` where the resource says it (listings)."""
    status, kind = None, None
    entries = resource.get("moderation")
    if isinstance(entries, list):
        stated = [e for e in entries if isinstance(e, Mapping) and e.get("status")]
        if stated:
            status, kind = stated[-1]["status"], stated[-1].get("kind")
    return {
        "moderation_status": resource.get("moderation_status") or status,
        "moderation_kind": resource.get("moderation_kind") or kind,
    }


def _access_control(value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        return None
    return [dict(rule) for rule in value if isinstance(rule, Mapping)] or None


def _int(value: Any) -> int | None:
    return int(value) if value is not None and value != "" else None


def _float(value: Any) -> float | None:
    return float(value) if value is not None and value != "" else None
