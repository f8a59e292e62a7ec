"""Everything one emulator instance holds, passed to every handler."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from cloudinary_emulator.config import Account
from cloudinary_emulator.delivery import Outbox
from cloudinary_emulator.faults import Counters, Faults
from cloudinary_emulator.folder_list import Folders
from cloudinary_emulator.invalidations import Invalidations
from cloudinary_emulator.metadata_registry import MetadataRegistry
from cloudinary_emulator.payloads import Payload
from cloudinary_emulator.ratelimit import RateLimiter
from cloudinary_emulator.store import Asset, Key, Store
from cloudinary_emulator.transformation_list import Transformations
from cloudinary_emulator.trigger_list import Triggers


class ResultCache:
    """A few recent search results, so paging through one query sorts it once."""

    def __init__(self, size: int = 4) -> None:
        self._lock = threading.Lock()
        self._size = size
        self._items: OrderedDict[Hashable, list[Asset]] = OrderedDict()

    def get(self, key: Hashable) -> list[Asset] | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: list[Asset]) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


@dataclass
class State:
    account: Account
    store: Store
    outbox: Outbox
    faults: Faults
    counters: Counters
    limiter: RateLimiter
    searches: ResultCache = field(default_factory=ResultCache)
    invalidations: Invalidations = field(default_factory=Invalidations)
    triggers: Triggers = field(default_factory=Triggers)
    transformations: Transformations = field(default_factory=Transformations)
    folders: Folders = field(default_factory=Folders)
    upload_presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    upload_mappings: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Deleted assets that had backups: `resource` shows them as placeholders until a
    # restore brings them back. Guarded by the store lock.
    placeholders: dict[Key, Asset] = field(default_factory=dict)
    # Related assets, both directions: asset_id -> related asset_ids (store lock).
    related: dict[str, set[str]] = field(default_factory=dict)
    metadata: MetadataRegistry = field(default_factory=MetadataRegistry)

    def notify(self, payloads: list[Payload], url: str | None) -> None:
        """Queue notifications. Handlers call this while still holding the store lock,
        so the queue order is the order the changes happened in; queuing never blocks."""
        for payload in payloads:
            self.outbox.send(payload, url or None)

    def reset(self) -> None:
        self.store.clear()
        self.counters.reset()
        self.faults.clear()
        self.limiter.reset()
        self.outbox.reset()
        self.searches.clear()
        self.invalidations.clear()
        self.triggers.clear()
        self.transformations.clear()
        self.folders.clear()
        self.upload_presets.clear()
        self.upload_mappings.clear()
        self.placeholders.clear()
        self.related.clear()
        self.metadata.clear()
