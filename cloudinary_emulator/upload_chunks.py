"""Chunked uploads (`upload_large`): parts carry `Content-Range` and `X-Unique-Upload-Id`
and are held until every byte has arrived; the last part is then processed as one upload."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from cloudinary_emulator.errors import ApiError

_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_ABANDONED_AFTER_S = 3600.0  # an upload whose client went away is dropped after this


@dataclass
class _Pending:
    total: int
    parts: dict[int, bytes] = field(default_factory=dict)
    touched: float = field(default_factory=time.monotonic)

    def received(self) -> int:
        return sum(len(part) for part in self.parts.values())


class ChunkedUploads:
    """Parts by upload id. One instance per process is enough: ids are random per upload."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}

    def receive(self, headers: Mapping[str, str], data: bytes) -> bytes | None:
        """The whole file once this part completes it, the part itself when the request
        is not chunked, or None while parts are still missing."""
        content_range = headers.get("content-range")
        if not content_range:
            return data
        match = _RANGE.match(content_range.strip())
        if not match:
            raise ApiError(400, f"Invalid Content-Range header {content_range}")
        start, end, total = (int(v) for v in match.groups())
        if end < start or end >= total or end - start + 1 != len(data):
            raise ApiError(
                400, f"Content-Range {content_range} does not match the part"
            )
        upload_id = headers.get("x-unique-upload-id", "")
        if not upload_id:
            raise ApiError(400, "Missing required header - X-Unique-Upload-Id")
        with self._lock:
            self._expire()
            pending = self._pending.setdefault(upload_id, _Pending(total))
            if pending.total != total:
                raise ApiError(400, f"Content-Range {content_range} changed the size")
            pending.parts[start] = data  # a retried part replaces itself
            pending.touched = time.monotonic()
            if pending.received() < total:
                return None
            del self._pending[upload_id]
        whole = b"".join(pending.parts[k] for k in sorted(pending.parts))
        if len(whole) != total:
            raise ApiError(400, "Chunked upload parts overlap")
        return whole

    def _expire(self) -> None:
        cutoff = time.monotonic() - _ABANDONED_AFTER_S
        for upload_id in [k for k, p in self._pending.items() if p.touched < cutoff]:
            del self._pending[upload_id]


CHUNKS = ChunkedUploads()
