"""Cloudinary notification payloads, read tolerantly into what the apply needs.

Cloudinary adds fields without notice and several shapes are only known from third parties
(docs/reference: cloudinary.md §1.5), so nothing here raises on an odd value: a field of the
wrong type is simply absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

_BIGINT_MAX = 2**63 - 1
_INT_MAX = 2**31 - 1


class Identity(NamedTuple):
    """Cloudinary's natural key; one live media_assets row per identity (a tuple: built,
    hashed and compared in C, a few hundred thousand times a second by the apply)."""

    public_id: str
    resource_type: str = "image"
    delivery_type: str = "upload"

    @property
    def lock_key(self) -> str:
        return f"{self.resource_type}/{self.delivery_type}/{self.public_id}"


def resources(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The `resources` items, whether a list or an object keyed by public_id."""
    raw = body.get("resources")
    items: list[dict[str, Any]] = []
    if isinstance(raw, list):
        items = [dict(item) for item in raw if isinstance(item, dict)]
    elif isinstance(raw, dict):
        for key, item in raw.items():
            if isinstance(item, dict):
                # the key is the public_id; an item's own public_id (if any) wins
                items.append({"public_id": key, **item})
    return items


def targets(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The assets an event names: its `resources`, else the body itself when it names one."""
    if "resources" in body:
        return resources(body)
    if _str(body.get("public_id")) or _str(body.get("asset_id")):
        return [dict(body)]
    return []


def identity(
    item: Mapping[str, Any], public_id_key: str = "public_id"
) -> Identity | None:
    public_id = _str(item.get(public_id_key))
    if public_id is None:
        return None
    return Identity(
        public_id,
        _str(item.get("resource_type")) or "image",
        _str(item.get("type")) or "upload",
    )


def asset_id(item: Mapping[str, Any]) -> str | None:
    return _str(item.get("asset_id")) or None


def version(item: Mapping[str, Any]) -> int | None:
    return _int(item.get("version"), _BIGINT_MAX)


def event_time(body: Mapping[str, Any], signed_at: datetime | None) -> datetime | None:
    """When Cloudinary made the event: triggered_at, else the upload timestamp (or when a
    moderation was decided), else the delivery's signed X-Cld-Timestamp."""
    context = body.get("notification_context")
    if isinstance(context, dict):
        triggered = parse_time(context.get("triggered_at"))
        if triggered is not None:
            return triggered
    return (
        parse_time(body.get("timestamp"))
        or parse_time(body.get("moderation_updated_at"))
        or signed_at
    )


def asset_columns(item: Mapping[str, Any]) -> dict[str, Any]:
    """media_assets columns for every field the payload (or an Admin API resource) has."""
    columns: dict[str, Any] = {}
    for key in (
        "asset_id",
        "public_id",
        "resource_type",
        "format",
        "display_name",
        "secure_url",
        "etag",
    ):
        if (text := _str(item.get(key))) is not None:
            columns[key] = text
    if (delivery_type := _str(item.get("type"))) is not None:
        columns["delivery_type"] = delivery_type
    for key, limit in (
        ("version", _BIGINT_MAX),
        ("bytes", _BIGINT_MAX),
        ("width", _INT_MAX),
        ("height", _INT_MAX),
    ):
        if (number := _int(item.get(key), limit)) is not None:
            columns[key] = number
    duration = item.get("duration")
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        columns["duration"] = float(duration)
    # dynamic folder mode names the folder `asset_folder`; fixed mode `folder`
    for key in ("asset_folder", "folder"):
        if (folder := _str(item.get(key))) is not None:
            columns["folder"] = folder
            break
    tags = item.get("tags")
    if isinstance(tags, list):
        columns["tags"] = [tag for tag in tags if isinstance(tag, str)]
    context = item.get("context")
    if isinstance(context, dict):
        # uploads and the Admin API nest the user's key/values under "custom"
        custom = context.get("custom", context)
        columns["context"] = custom if isinstance(custom, dict) else {}
    metadata = item.get("metadata")
    if isinstance(metadata, dict):
        columns["metadata_"] = metadata
    if (created := parse_time(item.get("created_at"))) is not None:
        columns["cloudinary_created_at"] = created
    columns.update(moderation(item))
    if (access_mode := _str(item.get("access_mode"))) is not None:
        columns["access_mode"] = access_mode
    if "access_control" in item:
        columns["access_control"] = access_control(item["access_control"])
    return columns


def moderation(item: Mapping[str, Any]) -> dict[str, Any]:
    """moderation_status and moderation_kind where the item states them: the latest of a
    resource's `moderation` entries ({kind, status, updated_at}, as the Admin API and upload
    results list them), and a `moderation` notification's (or a listing's) own keys, which
    win; none when it says nothing of moderation (an empty list: never moderated)."""
    found: dict[str, Any] = {}
    entries = item.get("moderation")
    if isinstance(entries, list):
        stated = [e for e in entries if isinstance(e, dict) and _str(e.get("status"))]
        latest = stated[-1] if stated else {}
        found = {
            "moderation_status": latest.get("status"),
            "moderation_kind": _str(latest.get("kind")),
        }
    if (status := _str(item.get("moderation_status"))) is not None:
        found["moderation_status"] = status
        kind = _str(item.get("moderation_kind"))
        found["moderation_kind"] = kind or found.get("moderation_kind")
    return found


def access_control(value: Any) -> list[dict[str, Any]] | None:
    """An access_control value as the mirror keeps it: the list of rules, or None when
    there are none (Cloudinary says null, an empty list, or leaves it out)."""
    if not isinstance(value, list):
        return None
    rules = [dict(rule) for rule in value if isinstance(rule, dict)]
    return rules or None


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 (`Z` or an offset) or Unix seconds, as an aware datetime."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value:
        return None
    if value.isdigit() and len(value) <= 12:
        return parse_time(int(value))
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any, limit: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, int) and 0 <= value <= limit:
        return value
    return None
