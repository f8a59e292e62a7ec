"""Fast JSON for the hot paths (inbox bodies read, batch parameters written), exact where the
standard library is.

orjson parses and writes JSON several times faster than `json`, but it reads an integer past
64 bits as a float and refuses to write one: a body that may hold such a number (a run of 19
or more digits) and a value holding one go through `json` instead, so nothing is ever rounded.
"""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from datetime import datetime
from typing import Any

import orjson

# A number of 19 digits can pass the 64-bit range (-2**63 has 19); a run of digits inside a
# string also counts (harmless: `json` then reads that body, a little slower). Found by
# mapping every digit to "0" and the rest to " " and searching for 19 zeros: C speed, where a
# regular expression costs more than orjson saves.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_NUMBER = b"0" * 19


def loads(data: str | bytes | bytearray | memoryview) -> Any:
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if _LONG_NUMBER not in raw.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # `json` decides, and words the error if there is one
    return json.loads(raw)


def dumps(value: Any) -> str:
    """JSON text of `value`; datetimes as ISO 8601 (with their offset when they have one),
    dataclass instances as objects with a key per field."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # an integer past 64 bits (or a type neither writes: json says which)
        return json.dumps(value, default=_isoformat)


def _isoformat(value: Any) -> Any:
    """What orjson writes natively, for `json`: datetimes and dataclass instances."""
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
