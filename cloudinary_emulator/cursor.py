"""Opaque next_cursor values: the sort key of the last item returned, not an offset."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cloudinary_emulator.errors import ApiError


def encode(kind: str, key: Any) -> str:
    raw = json.dumps([kind, key], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(text: str, kind: str) -> list[Any]:
    """The key list inside a cursor made by encode(kind, ...); 400 for anything else."""
    try:
        padded = text + "=" * (-len(text) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        decoded = None
    if not (isinstance(decoded, list) and len(decoded) == 2 and decoded[0] == kind):
        raise ApiError(400, "Invalid value for parameter next_cursor")
    key = decoded[1]
    if not isinstance(key, list):
        raise ApiError(400, "Invalid value for parameter next_cursor")
    return key
