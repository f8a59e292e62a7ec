"""The notification triggers an emulated account holds (the Triggers API: triggers.py)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.timefmt import iso_seconds


class Triggers:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, dict[str, Any]] = {}

    def listed(self, event_type: str | None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                dict(t)
                for t in self._items.values()
                if event_type is None or t["event_type"] == event_type
            ]

    def create(
        self, uri: str, event_type: str, uri_type: str, now: float
    ) -> dict[str, Any]:
        with self._lock:
            for existing in self._items.values():
                if (existing["uri"], existing["event_type"]) == (uri, event_type):
                    # Cloudinary refuses a second trigger for the same pair
                    raise ApiError(
                        409, f"Trigger for {event_type} {uri} already exists"
                    )
            trigger = {
                "id": uuid.uuid4().hex,
                "product_environment_id": "emulator",
                "uri": uri,
                "uri_type": uri_type,
                "event_type": event_type,
                "created_at": iso_seconds(now),
                "updated_at": iso_seconds(now),
            }
            self._items[trigger["id"]] = trigger
            return dict(trigger)

    def update(self, trigger_id: str, uri: str, now: float) -> None:
        with self._lock:
            trigger = self._found(trigger_id)
            trigger["uri"] = uri
            trigger["updated_at"] = iso_seconds(now)

    def delete(self, trigger_id: str) -> None:
        with self._lock:
            self._found(trigger_id)
            del self._items[trigger_id]

    def _found(self, trigger_id: str) -> dict[str, Any]:
        trigger = self._items.get(trigger_id)
        if trigger is None:
            raise ApiError(404, f"Trigger {trigger_id} not found")
        return trigger

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
