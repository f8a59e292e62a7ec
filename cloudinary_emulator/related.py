"""Admin API related assets: relate and unrelate by public_id or asset_id, and
`related_assets` in the resource details (`related=true`). Relations go both ways."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.listing import id_list
from cloudinary_emulator.lookup import asset_by_asset_id, asset_by_key
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Asset

Handler = Callable[[State, Request], Response]
MAX_RELATED = 10  # per call, as Cloudinary documents


def route(method: str, segments: list[str]) -> tuple[str, Handler] | None:
    if segments[:2] != ["resources", "related_assets"] or method not in (
        "POST",
        "DELETE",
    ):
        return None
    rest = segments[2:]
    name = "add_related_assets" if method == "POST" else "delete_related_assets"
    if len(rest) == 1:
        asset_id = rest[0]
        return name, lambda s, r: change(s, r, lambda: asset_by_asset_id(s, asset_id))
    if len(rest) >= 3:
        key = (rest[0], unquote(rest[1]), unquote("/".join(rest[2:])))
        return name, lambda s, r: change(s, r, lambda: asset_by_key(s, *key))
    return None


def _resolve(state: State, reference: str) -> Asset | None:
    """`image/upload/dog` (a full public_id path) or an asset_id."""
    found = state.store.by_asset_id(reference)
    if found is not None:
        return found
    parts = reference.split("/", 2)
    if len(parts) == 3:
        return state.store.get(parts[0], parts[1], parts[2])
    return None


def change(state: State, req: Request, target: Callable[[], Asset]) -> Response:
    params = req.json()
    adding = req.method == "POST"
    name = "assets_to_relate" if adding else "assets_to_unrelate"
    references = id_list(params, name)
    if not references:
        raise ApiError(400, f"Missing required parameter - {name}")
    if len(references) > MAX_RELATED:
        raise ApiError(400, f"Too many {name}; at most {MAX_RELATED}")
    success: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    with state.store.lock:
        asset = target()
        mine = state.related.setdefault(asset.asset_id, set())
        for reference in references:
            other = _resolve(state, reference)
            if other is None or other is asset:
                failed.append(
                    {
                        "message": "Asset not found",
                        "code": "not_found",
                        "asset": reference,
                    }
                )
                continue
            theirs = state.related.setdefault(other.asset_id, set())
            if adding:
                mine.add(other.asset_id)
                theirs.add(asset.asset_id)
            else:
                mine.discard(other.asset_id)
                theirs.discard(asset.asset_id)
            success.append(
                {"message": "success", "code": "success_ids", "asset": reference}
            )
    return ok({"failed": failed, "success": success})


def related_field(state: State, asset: Asset) -> list[dict[str, Any]]:
    """The related assets' identities, for the resource details (store lock held)."""
    found = (state.store.by_asset_id(i) for i in state.related.get(asset.asset_id, ()))
    return sorted(
        (
            {
                "asset_id": a.asset_id,
                "public_id": a.public_id,
                "resource_type": a.resource_type,
                "type": a.type,
            }
            for a in found
            if a is not None
        ),
        key=lambda r: (r["public_id"], r["type"]),
    )
