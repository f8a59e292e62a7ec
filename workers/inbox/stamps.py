"""Stamps: the total order in which writes to one asset's fields win (docs/ordering.md).

A stamp is text (`<17-digit µs since 1970>.<16-hex-digit version>.<tiebreak>`) that sorts
as the tuple (event time, version, tiebreak):
- event time: Cloudinary's `notification_context.triggered_at` (microseconds), or when a
  re-fetch was sent (what the Admin API answered is the state as of then, or later);
- version: the asset version the event carries (0 when it names none), so that of two
  events made in the same microsecond the newer upload wins;
- tiebreak: a few hex digits of the notification's digest, so two different events with
  equal time and version still order the same way in every worker, every time.

Text rather than a tuple: it is stored in jsonb and compared a few times per event, and one
string comparison is the cheapest total order Python and PostgreSQL agree on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_MICROS = 10**17 - 1  # 17 digits: past the year 5000
_MAX_VERSION = 2**63 - 1  # every bigint: 16 hex digits

# Who wrote a state without a notification: a re-fetch, the host app, or an older mirror.
FETCH = "fetch"
HOST = "host"
LEGACY = "legacy"


def stamp(at: datetime, version: int | None = None, tiebreak: str = "") -> str:
    micros = (at - _EPOCH) // timedelta(microseconds=1)
    micros = min(max(micros, 0), _MAX_MICROS)
    number = min(max(version or 0, 0), _MAX_VERSION)
    # the version in hex: no run of 19 digits, which would send every row's stamps through
    # the exact but slow JSON path (db/json_codec.py); fixed width keeps the order
    return f"{micros:017d}.{number:016x}.{tiebreak}"


@lru_cache(maxsize=4096)
def time_of(value: str) -> datetime:
    # cached: an event's writes all carry its one stamp
    return _EPOCH + timedelta(microseconds=int(value[:17]))
