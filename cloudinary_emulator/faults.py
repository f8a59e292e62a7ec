"""Per-endpoint call counters and injected faults (status, latency, dropped connection)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

ADMIN_ENDPOINTS = (
    "list_resources",
    "get_resource",
    "resources_by_asset_ids",
    "delete_resources",
    "delete_by_asset_ids",
    "update",
    "search",
    "ping",
    "usage",
    # notification triggers (triggers.py)
    "triggers",
    "create_trigger",
    "update_trigger",
    "delete_trigger",
    # structured metadata definitions (metadata_fields.py, metadata_rules.py)
    "metadata_fields",
    "metadata_rules",
    # Admin API beyond resources (transformations.py, folders.py, account.py,
    # presets.py, derived.py, restore.py)
    "transformations",
    "create_transformation",
    "update_transformation",
    "delete_transformation",
    "root_folders",
    "subfolders",
    "create_folder",
    "rename_folder",
    "delete_folder",
    "search_folders",
    "resource_types",
    "config",
    "list_tags",
    "upload_presets",
    "upload_preset",
    "create_upload_preset",
    "upload_mappings",
    "create_upload_mapping",
    "update_upload_mapping",
    "delete_upload_mapping",
    "delete_derived_resources",
    "restore",
    "delete_backed_up_assets",
    "add_related_assets",
    "delete_related_assets",
    "publish_resources",
)
UPLOAD_ENDPOINTS = (
    "upload",
    "destroy",
    "rename",
    "tags",
    "context",
    "explicit",
    "metadata",
    # assets generated from others (upload_generate.py)
    "text",
    "sprite",
    "multi",
    "explode",
    "generate_archive",
)
ENDPOINTS = ADMIN_ENDPOINTS + UPLOAD_ENDPOINTS


@dataclass
class Fault:
    """What the next `count` calls to one endpoint get instead of (or before) an answer."""

    status: int | None = None
    count: int = 1
    latency_ms: int = 0
    drop: bool = False
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "count": self.count,
            "latency_ms": self.latency_ms,
            "drop": self.drop,
            "message": self.message,
            "headers": dict(self.headers),
        }


class Faults:
    """Queued faults per endpoint; each call consumes one use of the oldest fault."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: dict[str, list[Fault]] = {}

    def add(self, endpoint: str, fault: Fault) -> None:
        if endpoint not in ENDPOINTS:
            raise ValueError(
                f"unknown endpoint {endpoint!r}; expected one of {ENDPOINTS}"
            )
        if fault.count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._queued.setdefault(endpoint, []).append(fault)

    def take(self, endpoint: str) -> Fault | None:
        with self._lock:
            queue = self._queued.get(endpoint)
            if not queue:
                return None
            fault = queue[0]
            fault.count -= 1
            if fault.count <= 0:
                queue.pop(0)
            return fault

    def clear(self) -> None:
        with self._lock:
            self._queued.clear()

    def pending(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return {
                name: [f.as_dict() for f in q] for name, q in self._queued.items() if q
            }


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(ENDPOINTS, 0)

    def hit(self, endpoint: str) -> None:
        with self._lock:
            self._counts[endpoint] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts = dict.fromkeys(ENDPOINTS, 0)
