"""The mirror against Cloudinary, field by field, per asset_id.

Cloudinary's side is read the way an operator would, through the SDK's Admin API: every
resource of every type (the listing), then each asset by asset_id (the detail, which alone
carries the etag). The mirror's side is every live media_assets row (deleted_at IS NULL),
read as json so a renamed or added column does not break the comparison.

Normalisations, each what the Admin API means rather than a tolerance of the apply: an
absent context/metadata/tags is empty (Cloudinary omits them when empty), a raw
asset's empty format is no format, an absent, null or empty access_control is none, and
the moderation is the last of the `moderation` entries (none when there are none).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import cloudinary.api
from sqlalchemy import text
from sqlalchemy.orm import Session

RESOURCE_TYPES = ("image", "video", "raw")
# (name in the report, Admin API key, media_assets columns to try in turn)
FIELDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("public_id", "public_id", ("public_id",)),
    ("resource_type", "resource_type", ("resource_type",)),
    ("type", "type", ("delivery_type", "type")),
    ("version", "version", ("version",)),
    ("format", "format", ("format",)),
    ("bytes", "bytes", ("bytes",)),
    ("width", "width", ("width",)),
    ("height", "height", ("height",)),
    ("folder", "asset_folder", ("folder", "asset_folder")),
    ("display_name", "display_name", ("display_name",)),
    ("tags", "tags", ("tags",)),
    ("context", "context", ("context",)),
    ("metadata", "metadata", ("metadata", "metadata_")),
    ("secure_url", "secure_url", ("secure_url",)),
    ("etag", "etag", ("etag",)),
    ("moderation_status", "moderation", ("moderation_status",)),
    ("moderation_kind", "moderation", ("moderation_kind",)),
    ("access_mode", "access_mode", ("access_mode",)),
    ("access_control", "access_control", ("access_control",)),
)
# Reported, not asserted: tag-change notifications carry only what was added and removed,
# so after reordered delivery the tags' order is not recoverable from the events alone
# (the set is); reconcile compares tags as a set too.
REPORTED_ONLY = frozenset({"tags_order"})


@dataclass(frozen=True)
class Mismatch:
    asset_id: str
    public_id: str
    field: str
    cloudinary: Any
    mirror: Any

    def __str__(self) -> str:
        return (
            f"{self.asset_id[:12]} {self.public_id!r} {self.field}: "
            f"cloudinary={self.cloudinary!r} mirror={self.mirror!r}"
        )


@dataclass
class Comparison:
    assets: int = 0  # live in Cloudinary
    rows: int = 0  # live in the mirror
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def by_field(self) -> Counter[str]:
        return Counter(m.field for m in self.mismatches)

    @property
    def asserted(self) -> list[Mismatch]:
        return [m for m in self.mismatches if m.field not in REPORTED_ONLY]

    @property
    def wrong_assets(self) -> int:
        return len({m.asset_id for m in self.asserted})

    def report(self, detail: int = 8) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.by_field.items()))
        lines = [
            f"assets {self.assets}, live rows {self.rows}, wrong assets {self.wrong_assets},"
            f" mismatches by field: {counts or 'none'}"
        ]
        lines += [f"  {m}" for m in self.mismatches[:detail]]
        if len(self.mismatches) > detail:
            lines.append(f"  … and {len(self.mismatches) - detail} more")
        return "\n".join(lines)


def cloudinary_view(opts: dict[str, str]) -> dict[str, dict[str, Any]]:
    """asset_id -> the Admin API's detail of that asset, for every live asset."""
    listed: list[dict[str, Any]] = []
    for resource_type in RESOURCE_TYPES:
        cursor: str | None = None
        while True:
            page = cloudinary.api.resources(
                resource_type=resource_type,
                max_results=500,
                **({"next_cursor": cursor} if cursor else {}),
                **opts,
            )
            listed += page["resources"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
    return {
        r["asset_id"]: dict(cloudinary.api.resource_by_asset_id(r["asset_id"], **opts))
        for r in listed
    }


def mirror_view(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        text("SELECT to_jsonb(m) FROM media_assets m WHERE m.deleted_at IS NULL")
    ).scalars()
    return [dict(row) for row in rows]


def compare(truth: dict[str, dict[str, Any]], rows: list[dict[str, Any]]) -> Comparison:
    result = Comparison(assets=len(truth), rows=len(rows))
    by_asset: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_asset.setdefault(str(row.get("asset_id")), []).append(row)
    for asset_id, asset in truth.items():
        found = by_asset.pop(asset_id, [])
        if not found:
            result.mismatches.append(
                Mismatch(asset_id, asset["public_id"], "missing", "live", None)
            )
            continue
        if len(found) > 1:
            result.mismatches.append(
                Mismatch(asset_id, asset["public_id"], "duplicate", 1, len(found))
            )
        result.mismatches += _fields(asset_id, asset, found[0])
    for asset_id, extra in by_asset.items():
        for row in extra:
            result.mismatches.append(
                Mismatch(asset_id, str(row.get("public_id")), "extra", None, "live")
            )
    return result


def _fields(
    asset_id: str, asset: dict[str, Any], row: dict[str, Any]
) -> list[Mismatch]:
    out = []
    for name, key, columns in FIELDS:
        want = _cloud_value(name, asset.get(key))
        have = _row_value(name, row, columns)
        if name == "tags":
            if sorted(want) != sorted(have):
                out.append(Mismatch(asset_id, asset["public_id"], "tags", want, have))
            elif want != have:
                out.append(
                    Mismatch(asset_id, asset["public_id"], "tags_order", want, have)
                )
        elif want != have:
            out.append(Mismatch(asset_id, asset["public_id"], name, want, have))
    return out


def _latest_moderation(entries: Any) -> dict[str, Any]:
    """The last of the Admin API's `moderation` entries ({kind, status}), else none."""
    stated = [e for e in entries or [] if isinstance(e, dict) and e.get("status")]
    return stated[-1] if stated else {}


def _cloud_value(name: str, value: Any) -> Any:
    if name == "tags":
        return list(value or [])
    if name == "context":
        return dict((value or {}).get("custom") or {})
    if name == "metadata":
        return dict(value or {})
    if name == "format":
        return value or None
    if name == "moderation_status":
        return _latest_moderation(value).get("status")
    if name == "moderation_kind":
        return _latest_moderation(value).get("kind")
    if name == "access_control":
        return value or None  # none: left out, null or an empty list
    return value


def _row_value(name: str, row: dict[str, Any], columns: tuple[str, ...]) -> Any:
    present = [c for c in columns if c in row]
    if not present:
        return f"<no column {'/'.join(columns)}>"
    value: Any = row[present[0]]
    if name == "tags":
        return list(value or [])
    if name in ("context", "metadata"):
        return dict(value or {})
    if name == "format":
        return value or None
    return value
