"""The CDN invalidations deletes asked for: `invalidate=true` on Admin delete_resources,
delete by asset_ids and Upload destroy.

Cloudinary purges the CDN's cached copies of what such a call deleted and answers as it
would without the flag. The emulator has no CDN, so it keeps a log instead: a test sees
which deletes asked for a purge (GET /_emulator/invalidations).
"""

from __future__ import annotations

import threading
import time
from typing import Any

LOG_LIMIT = 10_000  # entries kept, oldest dropped first


class Invalidations:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: list[dict[str, Any]] = []

    def record(
        self, endpoint: str, resource_type: str, dtype: str, public_ids: list[str]
    ) -> None:
        """One delete call asked to invalidate: what it deleted (nothing deleted, no purge)."""
        if not public_ids:
            return
        entry = {
            "endpoint": endpoint,
            "resource_type": resource_type,
            "type": dtype,
            "public_ids": sorted(public_ids),
            "at": time.time(),
        }
        with self._lock:
            self._log.append(entry)
            del self._log[:-LOG_LIMIT]

    def log(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                dict(entry, public_ids=list(entry["public_ids"])) for entry in self._log
            ]

    def clear(self) -> None:
        with self._lock:
            self._log.clear()
