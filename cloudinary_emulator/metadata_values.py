"""An asset's structured-metadata values: the `metadata` parameter checked against the
account's fields, defaults for new assets, and the merge into what an asset holds.

Every upload, explicit, rename, Admin update and the Upload API `metadata` action goes
through `changes`, so a value is validated the same way wherever it is written.
"""

from __future__ import annotations

from typing import Any

from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.forms import parse_context
from cloudinary_emulator.metadata_registry import MetadataRegistry
from cloudinary_emulator.metadata_validation import check

# What Cloudinary answers for a key that names no metadata field (observed upstream:
# cloudinary/pycloudinary#358, cloudinary/CloudinaryDotNet#318), two spaces included.
UNKNOWN_FIELD = "Invalid value  for parameter kind"

Values = dict[str, Any]  # external_id -> value; None in a change removes the value


def parse(raw: Any) -> dict[str, Any]:
    """The `metadata` parameter as sent: `k=v|k2=v2` (the SDK's form), or a JSON object."""
    if isinstance(raw, dict):
        return {str(k): v for k, v in raw.items()}
    return parse_context(str(raw or ""))


def changes(
    registry: MetadataRegistry, given: dict[str, Any], *, clear_invalid: bool = False
) -> Values:
    """Checked values by external_id; an empty value (or, with clear_invalid, an invalid
    one) becomes None, which clears the field."""
    out: Values = {}
    with registry.lock:
        for external_id, raw in given.items():
            field = registry.field(external_id)
            if field is None:
                if clear_invalid:
                    continue
                raise ApiError(400, UNKNOWN_FIELD)
            if raw is None or raw in ("", "[]") or raw == []:
                if field.get("mandatory") and not clear_invalid:
                    raise ApiError(400, f"Metadata field {external_id} is mandatory")
                out[external_id] = None
                continue
            try:
                out[external_id] = check(field, raw)
            except ValueError as exc:
                if not clear_invalid:
                    raise ApiError(
                        400,
                        f"Metadata field {external_id} value {raw} is invalid: {exc}",
                    ) from None
                out[external_id] = None
    return out


def defaults(registry: MetadataRegistry) -> Values:
    """What a new asset gets for the fields it was not given a value for."""
    return {
        f["external_id"]: f["default_value"]
        for f in registry.fields()
        if f.get("default_value") is not None and not f.get("default_disabled")
    }


def merged(current: Values, change: Values) -> Values:
    result = {**current, **change}
    return {k: v for k, v in result.items() if v is not None}


def for_new_asset(registry: MetadataRegistry, raw: Any | None) -> Values:
    """A new asset's metadata: defaults, then the values given (raises on bad input)."""
    given = changes(registry, parse(raw)) if raw is not None else {}
    values = merged(defaults(registry), given)
    require_mandatory(registry, values)
    return values


def require_mandatory(registry: MetadataRegistry, values: Values) -> None:
    missing = [
        f["external_id"]
        for f in registry.fields()
        if f.get("mandatory") and f["external_id"] not in values
    ]
    if missing:
        raise ApiError(400, f"Metadata field {missing[0]} is mandatory")


def without_invalid(registry: MetadataRegistry, values: Values) -> Values:
    """The asset's values that still pass their field's checks (for clear_invalid)."""
    kept: Values = {}
    with registry.lock:
        for external_id, value in values.items():
            field = registry.field(external_id)
            if field is None:
                continue
            try:
                kept[external_id] = check(field, value)
            except ValueError:
                continue
    return kept
