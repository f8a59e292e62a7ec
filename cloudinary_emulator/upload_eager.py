"""Derived resources made at upload or explicit time: `eager` and `responsive_breakpoints`."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import quote

from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.store import Asset, random_hex
from cloudinary_emulator.upload_transformation import (
    check_format,
    parse,
    result_size,
    split_eager,
)

Entry = dict[str, Any]
_BREAKPOINT_DEFAULTS = {
    "min_width": 50,
    "max_width": 1000,
    "bytes_step": 20000,
    "max_images": 20,
}


def derived_url(
    asset: Asset, cloud_name: str, transformation: str, fmt: str, *, secure: bool
) -> str:
    scheme = "https" if secure else "http"
    path = quote(asset.public_id, safe="/:")
    suffix = f".{fmt}" if fmt and asset.resource_type != "raw" else ""
    middle = f"/{transformation}" if transformation else ""
    return (
        f"{scheme}://res.cloudinary.com/{cloud_name}/{asset.resource_type}/{asset.type}"
        f"{middle}/v{asset.version}/{path}{suffix}"
    )


def _estimated_bytes(asset: Asset, width: int, height: int) -> int:
    """Bytes scale with pixel count; no pixels are stored, so this is an estimate."""
    if not asset.width or not asset.height:
        return asset.bytes
    area = asset.width * asset.height
    return max(1, round(asset.bytes * width * height / area))


def _size(asset: Asset, transformation: str) -> tuple[int | None, int | None]:
    chain = parse(transformation) if transformation else []
    if asset.width is None or asset.height is None:
        return None, None
    return result_size(asset.width, asset.height, chain)


def check_eager(text: str) -> list[tuple[str, str | None]]:
    """Validate an `eager` value up front, so a bad one fails before anything is stored."""
    entries = []
    for item in text.split("|"):
        if not item:
            continue
        transformation, fmt = split_eager(item)
        if transformation:
            parse(transformation)
        entries.append((transformation, fmt))
    return entries


def make_eager(asset: Asset, text: str, cloud_name: str) -> list[Entry]:
    """Derive each eager transformation, record it on the asset, return the result items."""
    results: list[Entry] = []
    for transformation, explicit in check_eager(text):
        fmt = explicit or asset.format
        width, height = _size(asset, transformation)
        nbytes = (
            _estimated_bytes(asset, width, height) if width and height else asset.bytes
        )
        url_part = f"{transformation}/{explicit}" if explicit else transformation
        item: Entry = {"transformation": url_part, "width": width, "height": height}
        item.update(
            bytes=nbytes,
            format=fmt,
            url=derived_url(asset, cloud_name, transformation, fmt, secure=False),
            secure_url=derived_url(asset, cloud_name, transformation, fmt, secure=True),
        )
        if width is None:
            del item["width"], item["height"]
        results.append(item)
        _record(asset, item)
    return results


def _record(asset: Asset, item: Entry) -> None:
    kept = [d for d in asset.derived if d["transformation"] != item["transformation"]]
    derived = {
        "id": random_hex(1)[0],
        "transformation": item["transformation"],
        "format": item["format"],
        "bytes": item["bytes"],
        "url": item["url"],
        "secure_url": item["secure_url"],
    }
    asset.derived = [*kept, derived]


def _settings(text: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(text)
    except ValueError:
        raise ApiError(400, "Invalid responsive_breakpoints parameter") from None
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, dict) for item in items):
        raise ApiError(400, "Invalid responsive_breakpoints parameter")
    for item in items:
        if item.get("transformation"):
            parse(str(item["transformation"]))
        if item.get("format"):
            check_format(str(item["format"]))
        for name in _BREAKPOINT_DEFAULTS:
            if name in item and not isinstance(item[name], int | float):
                raise ApiError(400, f"Invalid value {item[name]} for parameter {name}")
    return items


def check_breakpoints(text: str) -> None:
    _settings(text)


def make_breakpoints(asset: Asset, text: str, cloud_name: str) -> list[Entry]:
    """One entry per requested setting: widths from the largest down to min_width."""
    results: list[Entry] = []
    for setting in _settings(text):
        transformation = str(setting.get("transformation") or "")
        fmt = str(setting.get("format") or asset.format)
        width, height = _size(asset, transformation)
        options = {**_BREAKPOINT_DEFAULTS, **setting}
        widths = _widths(asset, width or 0, height or 0, options)
        points = []
        for point in widths:
            point_h = round((height or 0) * point / width) if width else 0
            scale = f"c_scale,w_{point}"
            chained = f"{transformation}/{scale}" if transformation else scale
            points.append(
                {
                    "width": point,
                    "height": point_h,
                    "bytes": _estimated_bytes(asset, point, point_h),
                    "url": derived_url(asset, cloud_name, chained, fmt, secure=False),
                    "secure_url": derived_url(
                        asset, cloud_name, chained, fmt, secure=True
                    ),
                }
            )
            if setting.get("create_derived", True):
                _record(
                    asset,
                    {
                        "transformation": chained
                        if fmt == asset.format
                        else f"{chained}/{fmt}",
                        "format": fmt,
                        "bytes": points[-1]["bytes"],
                        "url": points[-1]["url"],
                        "secure_url": points[-1]["secure_url"],
                    },
                )
        results.append({"breakpoints": points, "transformation": transformation})
    return results


def _widths(
    asset: Asset, width: int, height: int, options: dict[str, Any]
) -> list[int]:
    """Evenly spaced in file size, as Cloudinary spaces them by `bytes_step`."""
    top = min(width, int(options["max_width"]))
    bottom = min(int(options["min_width"]), top)
    if top <= 0:
        return []
    if top == bottom:
        return [top]
    span = _estimated_bytes(asset, top, height) - _estimated_bytes(
        asset, bottom, height
    )
    steps = math.ceil(span / max(float(options["bytes_step"]), 1.0))
    count = max(2, min(int(options["max_images"]), steps + 1))
    # area grows with the square of width, so equal byte steps are sqrt-spaced widths
    low, high = bottom * bottom, top * top
    points = [
        round(math.sqrt(high - (high - low) * i / (count - 1))) for i in range(count)
    ]
    return list(dict.fromkeys(points))
