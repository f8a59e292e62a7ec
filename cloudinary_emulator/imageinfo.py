"""Format and pixel size from the bytes of the image formats Cloudinary accepts."""

from __future__ import annotations

import re
import struct

Sniffed = tuple[str, int, int]

# JPEG start-of-frame markers carry the size; C4, C8 and CC are other segments.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_SVG_TAG = re.compile(rb"<svg\b[^>]*>", re.IGNORECASE | re.DOTALL)
_SVG_ATTR = re.compile(rb'\b(width|height|viewBox)\s*=\s*["\']([^"\']*)["\']')
_PDF_DEFAULT = (612, 792)  # US Letter in points, what a page without a MediaBox gets


def sniff(data: bytes) -> Sniffed | None:
    """(format, width, height), or None when the bytes are not a known image."""
    for reader in _READERS:
        found = reader(data)
        if found is not None:
            return found
    return None


def _png(data: bytes) -> Sniffed | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    return None


def _gif(data: bytes) -> Sniffed | None:
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return "gif", width, height
    return None


def _jpeg(data: bytes) -> Sniffed | None:
    if not data.startswith(b"\xff\xd8"):
        return None
    position = 2
    while position + 9 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _SOF_MARKERS:
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return "jpg", width, height
        position += 2 + length
    return None


def _ico(data: bytes) -> Sniffed | None:
    # ICONDIR (reserved 0, type 1, count) then 16-byte entries; 0 means 256 pixels.
    if len(data) < 22 or data[:4] != b"\x00\x00\x01\x00":
        return None
    (count,) = struct.unpack("<H", data[4:6])
    sizes = []
    for index in range(min(count, (len(data) - 6) // 16)):
        entry = data[6 + 16 * index : 8 + 16 * index]
        sizes.append((entry[0] or 256, entry[1] or 256))
    if not sizes:
        return None
    width, height = max(sizes)
    return "ico", width, height


def _bmp(data: bytes) -> Sniffed | None:
    if not data.startswith(b"BM") or len(data) < 26:
        return None
    (header_size,) = struct.unpack("<I", data[14:18])
    if header_size == 12:  # OS/2 BITMAPCOREHEADER uses 16-bit sizes
        width, height = struct.unpack("<HH", data[18:22])
        return "bmp", width, height
    width, height = struct.unpack("<ii", data[18:26])
    return "bmp", abs(width), abs(height)  # a negative height means top-down rows


def _webp(data: bytes) -> Sniffed | None:
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return "webp", width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return "webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return "webp", width, height
    return None


def _tiff(data: bytes) -> Sniffed | None:
    if data[:4] not in (b"II*\x00", b"MM\x00*") or len(data) < 8:
        return None
    order = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", data[4:8])
    if offset + 2 > len(data):
        return None
    (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    found: dict[int, int] = {}
    for index in range(count):
        start = offset + 2 + 12 * index
        if start + 12 > len(data):
            break
        tag, kind = struct.unpack(order + "HH", data[start : start + 4])
        if tag in (256, 257):
            fmt = order + ("H" if kind == 3 else "I")
            size = 2 if kind == 3 else 4
            (found[tag],) = struct.unpack(fmt, data[start + 8 : start + 8 + size])
    if 256 in found and 257 in found:
        return "tiff", found[256], found[257]
    return None


def _svg(data: bytes) -> Sniffed | None:
    head = data[:4096].lstrip()
    if not (head.startswith((b"<?xml", b"<svg", b"<!DOCTYPE svg", b"<!--"))):
        return None
    tag = _SVG_TAG.search(data[:65536])
    if tag is None:
        return None
    attrs = {k.decode(): v.decode() for k, v in _SVG_ATTR.findall(tag.group(0))}
    width, height = _length(attrs.get("width")), _length(attrs.get("height"))
    box = attrs.get("viewBox", "").replace(",", " ").split()
    if (width is None or height is None) and len(box) == 4:
        width = width or _length(box[2])
        height = height or _length(box[3])
    return "svg", width or 300, height or 150  # the browser default for an unsized SVG


def _pdf(data: bytes) -> Sniffed | None:
    if not data.startswith(b"%PDF-"):
        return None
    box = re.search(
        rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)", data
    )
    if box is None:
        return "pdf", *_PDF_DEFAULT
    x0, y0, x1, y1 = (float(v) for v in box.groups())
    return "pdf", round(abs(x1 - x0)), round(abs(y1 - y0))


def _length(text: str | None) -> int | None:
    match = re.match(r"\s*([\d.]+)\s*(px)?\s*$", text or "")
    return round(float(match.group(1))) if match else None


_READERS = (_png, _jpeg, _gif, _webp, _bmp, _ico, _tiff, _pdf, _svg)
