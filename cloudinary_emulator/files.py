"""An upload's `file` parameter: bytes, a data URI or a remote URL, and what it holds."""

from __future__ import annotations

import base64
import binascii
import secrets
import string
from urllib.parse import unquote, urlsplit

from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.forms import Form
from cloudinary_emulator.imageinfo import sniff

_DEFAULT_SIZE = {"image": (640, 480), "video": (1280, 720)}
_VIDEO_EXTENSIONS = frozenset({"mp4", "mov", "webm", "avi", "mkv", "m4v", "ogv"})
_IMAGE_EXTENSIONS = frozenset(
    {"jpg", "jpeg", "png", "gif", "webp", "bmp", "tiff", "tif", "svg", "ico", "pdf"}
)
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!")
_DOCUMENT_EXTENSIONS = frozenset(
    {"docx", "doc", "xlsx", "xls", "pptx", "ppt", "zip", "gz", "txt", "csv", "json"}
)
_ID_ALPHABET = string.ascii_lowercase + string.digits


def random_public_id(length: int = 20) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def file_content(form: Form) -> tuple[bytes, str, str | None]:
    """(bytes, original filename, source URL when the file was given as a URL)."""
    if form.file is not None:
        name = form.file.filename.replace("\\", "/").rpartition("/")[2]
        return form.file.data, name, None
    text = form.get("file")
    if not text:
        raise ApiError(400, "Missing required parameter - file")
    if text.startswith("data:"):
        header, comma, payload = text.partition(",")
        if not comma:
            raise ApiError(400, "Invalid data URI")
        if not header.endswith(";base64"):
            return unquote(payload).encode("utf-8"), "file", None
        try:
            # b64decode skips the line breaks some clients put in long data URIs
            return base64.b64decode(payload, validate=False), "file", None
        except (binascii.Error, ValueError):
            raise ApiError(400, "Invalid data URI") from None
    if "://" in text:
        # Remote URLs are recorded, never fetched: tests must not touch the network.
        name = unquote(urlsplit(text).path.rpartition("/")[2]) or "file"
        return b"", name, text
    raise ApiError(400, f"Invalid file parameter - {text[:80]}")


def describe(
    data: bytes, filename: str, resource_type: str, fmt: str
) -> tuple[str, str, int | None, int | None]:
    """(resource_type, format, width, height), sniffing images, else guessing by name."""
    stem, dot, extension = filename.rpartition(".")
    extension = extension.lower() if dot and stem else ""
    sniffed = sniff(data)
    if resource_type == "auto":
        if sniffed or extension in _IMAGE_EXTENSIONS:
            resource_type = "image"
        else:
            resource_type = "video" if extension in _VIDEO_EXTENSIONS else "raw"
    if resource_type == "raw":
        return resource_type, fmt or extension, None, None
    if sniffed and resource_type == "image":
        return resource_type, fmt or sniffed[0], sniffed[1], sniffed[2]
    if resource_type == "image" and (
        data.startswith(_ARCHIVE_MAGIC) or extension in _DOCUMENT_EXTENSIONS
    ):
        # Bytes that are plainly not an image are refused. Other unrecognised bytes get
        # a default size instead: tests everywhere upload b"x" as a stand-in image.
        raise ApiError(400, "Invalid image file")
    width, height = _DEFAULT_SIZE[resource_type]
    default_format = "jpg" if resource_type == "image" else "mp4"
    return (
        resource_type,
        fmt or extension.replace("jpeg", "jpg") or default_format,
        width,
        height,
    )
