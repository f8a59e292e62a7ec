"""Timestamp formats Cloudinary puts on the wire, and the date values search accepts."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from email.utils import formatdate

_RELATIVE = re.compile(r"^(\d+)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def iso_seconds(ts: float) -> str:
    """`2022-12-14T06:09:21Z`: created_at, uploaded_at, last_updated.*"""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def iso_offset(ts: float) -> str:
    """`2020-12-16T12:09:39+00:00`: the upload notification's `timestamp`."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ts))


def iso_micros(ts: float) -> str:
    """`2022-11-17T09:07:50.766353Z`: notification_context.triggered_at."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc1123(ts: float) -> str:
    """`Sat, 01 Apr 2017 22:00:00 GMT`: the SDK parses the reset header with parsedate."""
    return formatdate(ts, usegmt=True)


def parse_time(value: str, now: float) -> float | None:
    """Unix seconds for an ISO date/datetime, unix seconds, or `1d`/`2h`/`30m` ago.

    Naive datetimes are taken as UTC, as Cloudinary documents its timestamps in UTC.
    Returns None for anything unrecognised so callers can answer 400.
    """
    text = value.strip().strip('"')
    if not text:
        return None
    relative = _RELATIVE.match(text)
    if relative:
        return now - int(relative.group(1)) * _UNIT_SECONDS[relative.group(2)]
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def is_date_only(value: str) -> bool:
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip().strip('"')) is not None
