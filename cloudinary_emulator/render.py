"""Asset -> the JSON shapes each API returns (upload result, admin list/detail, search)."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from cloudinary_emulator.config import Account
from cloudinary_emulator.store import Asset
from cloudinary_emulator.timefmt import iso_seconds

# Keys every `fields=` selection keeps, as the Admin API documents.
_ALWAYS = ("public_id", "asset_id")


def delivery_url(asset: Asset, cloud_name: str, *, secure: bool) -> str:
    scheme = "https" if secure else "http"
    suffix = f".{asset.format}" if asset.format and asset.resource_type != "raw" else ""
    return (
        f"{scheme}://res.cloudinary.com/{cloud_name}/{asset.resource_type}/{asset.type}"
        f"/v{asset.version}/{quote(asset.public_id, safe='/:')}{suffix}"
    )


def _core(asset: Asset, cloud_name: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "asset_id": asset.asset_id,
        "public_id": asset.public_id,
        "format": asset.format,
        "version": asset.version,
        "resource_type": asset.resource_type,
        "type": asset.type,
        "created_at": iso_seconds(asset.created_at),
        "bytes": asset.bytes,
    }
    if asset.width is not None and asset.height is not None:
        body["width"] = asset.width
        body["height"] = asset.height
    body["asset_folder"] = asset.asset_folder
    body["display_name"] = asset.display_name
    body["url"] = delivery_url(asset, cloud_name, secure=False)
    body["secure_url"] = delivery_url(asset, cloud_name, secure=True)
    return body


def context_field(asset: Asset) -> dict[str, Any]:
    return {"custom": dict(asset.context)}


def last_updated(asset: Asset) -> dict[str, str]:
    stamps = {"updated_at": asset.updated_at, **asset.last_updated}
    return {name: iso_seconds(ts) for name, ts in stamps.items()}


def _extras(body: dict[str, Any], asset: Asset, wanted: set[str]) -> dict[str, Any]:
    if "tags" in wanted:
        body["tags"] = sorted(asset.tags)  # Cloudinary's Admin API lists tags sorted
    if "context" in wanted and asset.context:
        body["context"] = context_field(asset)
    if "metadata" in wanted and asset.metadata:
        body["metadata"] = dict(asset.metadata)
    if "moderations" in wanted and asset.moderation:
        body["moderation"] = moderation_field(asset)
    return body


def moderation_field(asset: Asset) -> list[dict[str, Any]]:
    out = []
    for entry in asset.moderation:
        item = {"status": entry["status"], "kind": entry["kind"]}
        stamp = entry.get("updated_at")
        if isinstance(stamp, (int, float)):
            item["updated_at"] = iso_seconds(stamp)
        elif stamp:
            item["updated_at"] = str(stamp)
        out.append(item)
    return out


def derived_field(asset: Asset) -> list[dict[str, Any]]:
    """The asset's derived resources in the shape the resource details give them."""
    keys = ("transformation", "format", "bytes", "id", "url", "secure_url")
    return [{k: d[k] for k in keys if k in d} for d in asset.derived]


def select_fields(body: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    if not fields:
        return body
    keep = set(fields) | set(_ALWAYS)
    return {k: v for k, v in body.items() if k in keep}


def admin_summary(asset: Asset, cloud_name: str, extras: set[str]) -> dict[str, Any]:
    """One item of a list-resources page; tags/context/metadata only on request."""
    body = _core(asset, cloud_name)
    body["access_mode"] = asset.access_mode
    if asset.access_control is not None:
        body["access_control"] = asset.access_control
    if asset.moderation:
        body["moderation_status"] = asset.moderation[-1]["status"]
    return _extras(body, asset, extras)


def admin_detail(asset: Asset, cloud_name: str) -> dict[str, Any]:
    """Get-one: the summary plus tags, etag, derived and last_updated."""
    # Cloudinary leaves `tags` out of the details of an asset that has none.
    wanted = {"context", "metadata", "moderations"} | (
        {"tags"} if asset.tags else set()
    )
    body = admin_summary(asset, cloud_name, wanted)
    body.update(
        version_id=asset.version_id,
        original_filename=asset.original_filename,
        etag=asset.etag,
        placeholder=False,
        derived=derived_field(asset),
        last_updated=last_updated(asset),
    )
    return body


def search_result(asset: Asset, cloud_name: str, extras: set[str]) -> dict[str, Any]:
    body = _core(asset, cloud_name)
    body.update(
        filename=asset.public_id.rpartition("/")[2],
        uploaded_at=iso_seconds(asset.uploaded_at),
        status="active",
        access_mode=asset.access_mode,
        access_control=asset.access_control,
        etag=asset.etag,
        last_updated=last_updated(asset),
    )
    if asset.width and asset.height:
        body["aspect_ratio"] = round(asset.width / asset.height, 5)
        body["pixels"] = asset.width * asset.height
    return _extras(body, asset, extras)


def upload_result(asset: Asset, account: Account) -> dict[str, Any]:
    body = _core(asset, account.cloud_name)
    # Cloudinary signs public_id and version in the upload result the same way requests are.
    to_sign = f"public_id={asset.public_id}&version={asset.version}{account.api_secret}"
    body.update(
        version_id=asset.version_id,
        signature=hashlib.sha1(to_sign.encode(), usedforsecurity=False).hexdigest(),
        tags=list(asset.tags),
        etag=asset.etag,
        placeholder=False,
        access_mode=asset.access_mode,
        original_filename=asset.original_filename,
        api_key=account.api_key,
    )
    if asset.context:
        body["context"] = context_field(asset)
    if asset.metadata:
        body["metadata"] = dict(asset.metadata)
    if asset.moderation:
        body["moderation"] = [
            {"kind": m["kind"], "status": m["status"]} for m in asset.moderation
        ]
    if asset.access_control is not None:
        body["access_control"] = asset.access_control
    return body
