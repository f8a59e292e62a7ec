"""Transformation strings (`c_scale,w_100/jpg`): parsing, a canonical form, and the
`info` list of parameter dicts the Transformations API returns."""

from __future__ import annotations

import re
from typing import Any

# URL abbreviation -> the option name the SDKs and the `info` field use.
PARAMS = {
    "a": "angle",
    "ac": "audio_codec",
    "af": "audio_frequency",
    "ar": "aspect_ratio",
    "b": "background",
    "bo": "border",
    "br": "bit_rate",
    "c": "crop",
    "co": "color",
    "cs": "color_space",
    "d": "default_image",
    "dl": "delay",
    "dn": "density",
    "dpr": "dpr",
    "du": "duration",
    "e": "effect",
    "eo": "end_offset",
    "f": "fetch_format",
    "fl": "flags",
    "fn": "custom_function",
    "fps": "fps",
    "g": "gravity",
    "h": "height",
    "if": "if",
    "ki": "keyframe_interval",
    "l": "overlay",
    "o": "opacity",
    "p": "prefix",
    "pg": "page",
    "q": "quality",
    "r": "radius",
    "so": "start_offset",
    "sp": "streaming_profile",
    "t": "transformation",
    "u": "underlay",
    "vc": "video_codec",
    "vs": "video_sampling",
    "w": "width",
    "x": "x",
    "y": "y",
    "z": "zoom",
}
_EXTENSION = re.compile(r"^[A-Za-z0-9]{0,10}$")
_INTEGER = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?\d+\.\d+$")


class NotATransformation(ValueError):
    """The text is not a transformation string (it may still be a name)."""


def _split(text: str) -> tuple[list[list[tuple[str, str]]], str | None]:
    """Components of (key, value) pairs, and the extension after a final `/`."""
    parts = text.split("/")
    extension = None
    if len(parts) > 1 and _EXTENSION.match(parts[-1]) and "_" not in parts[-1]:
        extension = parts.pop()
    if not parts or not all(parts):
        raise NotATransformation(text)
    components = []
    for part in parts:
        pairs = []
        for item in part.split(","):
            key, sep, value = item.partition("_")
            if not sep or not (key in PARAMS or key.startswith("$")):
                raise NotATransformation(text)
            pairs.append((key, value))
        components.append(pairs)
    return components, extension


def canonical(text: str) -> str:
    """One spelling per transformation: parameters sorted as the SDKs sort them
    (`if_` and variables first), so `w_100,c_scale` and `c_scale,w_100` are one."""
    components, extension = _split(text)
    out = []
    for pairs in components:
        head = [p for p in pairs if p[0] == "if"]
        variables = sorted(p for p in pairs if p[0].startswith("$"))
        rest = sorted(p for p in pairs if p[0] != "if" and not p[0].startswith("$"))
        out.append(",".join(f"{k}_{v}" for k, v in head + variables + rest))
    joined = "/".join(out)
    return joined if extension is None else f"{joined}/{extension}"


def is_transformation(text: str) -> bool:
    try:
        _split(text)
    except NotATransformation:
        return False
    return True


def _value(raw: str) -> Any:
    if _INTEGER.match(raw):
        return int(raw)
    if _DECIMAL.match(raw):
        return float(raw)
    return raw


def info(text: str) -> list[dict[str, Any]]:
    """`c_scale,w_100` -> [{"crop": "scale", "width": 100}], one dict per component."""
    components, extension = _split(text)
    result = [
        {PARAMS.get(key, key): _value(value) for key, value in pairs}
        for pairs in components
    ]
    if extension is not None:
        result[-1]["extension"] = extension
    return result


def named_parts(text: str) -> list[str]:
    """The named transformations (`t_<name>`) a transformation string refers to."""
    try:
        components, _ = _split(text)
    except NotATransformation:
        return []
    return [
        name
        for pairs in components
        for key, value in pairs
        if key == "t"
        for name in value.split(".")
    ]
