"""Transformation strings as the Upload API takes them: validation, and the size they give.

Only geometry is modelled (crop/resize, rotation, dpr); effects and layers are accepted
and leave the size alone, since the emulator stores no pixels.
"""

from __future__ import annotations

import math
import re

from cloudinary_emulator.errors import ApiError

Component = list[tuple[str, str]]

# Every single-letter-ish key Cloudinary's URL grammar knows (see the SDK's utils.py).
_KEYS = frozenset(
    [
        "a",
        "ac",
        "af",
        "ar",
        "b",
        "bo",
        "br",
        "c",
        "co",
        "cs",
        "d",
        "dl",
        "dn",
        "dpr",
        "du",
        "e",
        "eo",
        "f",
        "fl",
        "fn",
        "fps",
        "g",
        "h",
        "if",
        "ki",
        "l",
        "o",
        "p",
        "pg",
        "q",
        "r",
        "so",
        "sp",
        "t",
        "u",
        "vc",
        "vs",
        "w",
        "x",
        "y",
        "z",
    ]
)
_CROPS = frozenset(
    [
        "scale",
        "fit",
        "limit",
        "mfit",
        "fill",
        "lfill",
        "pad",
        "lpad",
        "mpad",
        "crop",
        "thumb",
        "imagga_crop",
        "imagga_scale",
        "fill_pad",
        "auto",
        "auto_pad",
    ]
)
IMAGE_FORMATS = frozenset(
    [
        "jpg",
        "jpeg",
        "jpe",
        "jpc",
        "jp2",
        "j2k",
        "wdp",
        "jxr",
        "hdp",
        "png",
        "gif",
        "webp",
        "bmp",
        "tiff",
        "tif",
        "ico",
        "pdf",
        "ps",
        "ept",
        "eps",
        "eps3",
        "psd",
        "svg",
        "ai",
        "djvu",
        "flif",
        "tga",
        "avif",
        "heic",
        "heif",
        "jxl",
        "arw",
        "cr2",
        "cr3",
        "dng",
        "raf",
    ]
)
VIDEO_FORMATS = frozenset(
    [
        "mp4",
        "webm",
        "ogv",
        "flv",
        "mov",
        "m3u8",
        "ts",
        "mpd",
        "mkv",
        "avi",
        "wmv",
        "3gp",
        "3g2",
        "m2ts",
        "mts",
        "mp3",
        "ogg",
        "wav",
        "aac",
        "m4a",
        "flac",
        "aiff",
    ]
)
_NUMBER = re.compile(r"^-?\d+(\.\d*)?$")


def invalid_component(component: str) -> ApiError:
    return ApiError(400, f"Invalid transformation component - {component}")


def invalid_extension(extension: str) -> ApiError:
    return ApiError(400, f"Invalid extension in transformation: {extension}")


def check_format(extension: str) -> str:
    """A delivery format; raises Cloudinary's error for one it cannot produce."""
    lowered = extension.lower()
    if lowered not in IMAGE_FORMATS and lowered not in VIDEO_FORMATS:
        raise invalid_extension(extension)
    return "jpg" if lowered in ("jpeg", "jpe") else lowered


def parse(text: str) -> list[Component]:
    """`c_scale,w_100/e_sepia` -> [[("c","scale"),("w","100")],[("e","sepia")]]."""
    chain: list[Component] = []
    for raw in text.split("/"):
        if not raw:
            raise invalid_component(text)
        component: Component = []
        for part in _split_params(raw):
            key, sep, value = part.partition("_")
            if key.startswith("$"):  # a user variable: $name_value
                component.append((key, value))
                continue
            if not sep or key not in _KEYS or (not value and key != "if"):
                raise invalid_component(part)
            _check_value(key, value, part)
            component.append((key, value))
        chain.append(component)
    return chain


def split_eager(text: str) -> tuple[str, str | None]:
    """An eager entry is `transformation[/extension]`; a trailing `/` means "same format"."""
    head, sep, tail = text.rpartition("/")
    if sep and (tail == "" or "_" not in tail):
        return head, check_format(tail) if tail else None
    return text, None


def _split_params(component: str) -> list[str]:
    # Layers (l_/u_) may hold commas inside text escaped as %2C; plain commas split.
    return [part for part in component.split(",") if part]


def _check_value(key: str, value: str, part: str) -> None:
    if key == "c" and value not in _CROPS:
        raise invalid_component(part)
    if key in ("w", "h") and not (
        _NUMBER.match(value)
        or value.startswith(("auto", "iw", "ih", "$"))
        or value in ("ow", "oh")
    ):
        raise invalid_component(part)
    if key == "f" and value != "auto":
        check_format(value)


def result_size(width: int, height: int, chain: list[Component]) -> tuple[int, int]:
    """The pixel size after applying the chain to an image of width x height."""
    for component in chain:
        params = dict(component)
        if (
            "l" in params
            or "u" in params
            or ("fl" in params and "layer_apply" in params["fl"])
        ):
            continue  # layers composite onto the base; its size stays
        width, height = _resize(width, height, params)
        if params.get("a") and _NUMBER.match(params["a"]):
            width, height = _rotate(width, height, float(params["a"]))
        if params.get("dpr") and _NUMBER.match(params["dpr"]):
            scale = float(params["dpr"])
            width, height = round(width * scale), round(height * scale)
    return max(width, 1), max(height, 1)


def _dimension(value: str | None, current: int) -> float | None:
    if value is None or not _NUMBER.match(value):
        return None
    number = float(value)
    # "0.5" or "2.0" is relative to the current size; "100" is pixels.
    return current * number if "." in value else number


def _resize(width: int, height: int, params: dict[str, str]) -> tuple[int, int]:
    target_w = _dimension(params.get("w"), width)
    target_h = _dimension(params.get("h"), height)
    if target_w is None and target_h is None:
        return width, height
    crop = params.get("c", "scale")
    if target_w is None:
        target_w = width * (target_h or height) / height
    if target_h is None:
        target_h = height * target_w / width
    if crop in ("fit", "limit", "mfit", "pad", "lpad", "mpad"):
        ratio = min(target_w / width, target_h / height)
        if (crop in ("limit", "lpad") and ratio > 1) or (crop == "mfit" and ratio < 1):
            ratio = 1
        if crop in ("pad", "lpad", "mpad") and ratio != 1:
            return round(target_w), round(target_h)
        return round(width * ratio), round(height * ratio)
    if crop == "lfill" and (target_w > width or target_h > height):
        return width, height
    return round(target_w), round(target_h)


def _rotate(width: int, height: int, angle: float) -> tuple[int, int]:
    radians = math.radians(angle % 360)
    cos, sin = abs(math.cos(radians)), abs(math.sin(radians))
    return round(width * cos + height * sin), round(width * sin + height * cos)
