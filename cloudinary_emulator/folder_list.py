"""The account's asset folders (the Folders API: folders.py).

In dynamic folder mode a folder exists once it is created, or once an asset's
`asset_folder` names it or a folder below it; `sync` adds the latter. In memory,
emptied by a reset.
"""

from __future__ import annotations

import threading
from typing import Any

from cloudinary_emulator.store import random_hex
from cloudinary_emulator.timefmt import iso_seconds

Folder = dict[str, Any]  # {"name", "path", "external_id", "created_at"}


def ancestors(path: str) -> list[str]:
    """`a/b/c` -> [`a`, `a/b`, `a/b/c`]."""
    parts = [p for p in path.split("/") if p]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


class Folders:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._items: dict[str, Folder] = {}

    def get(self, path: str) -> Folder | None:
        return self._items.get(path)

    def add(self, path: str, now: float) -> list[Folder]:
        """Create the folder and any missing parents; the folders that are new."""
        created = []
        with self.lock:
            for each in ancestors(path):
                if each not in self._items:
                    self._items[each] = {
                        "name": each.rpartition("/")[2],
                        "path": each,
                        "external_id": random_hex(1)[0],
                        "created_at": iso_seconds(now),
                    }
                    created.append(dict(self._items[each]))
        return created

    def sync(self, asset_folders: set[str], now: float) -> None:
        for path in asset_folders:
            if path and path not in self._items:
                self.add(path, now)

    def remove(self, path: str) -> list[str]:
        """Remove the folder and everything below it; the removed paths."""
        with self.lock:
            gone = [p for p in self._items if p == path or p.startswith(path + "/")]
            for each in gone:
                del self._items[each]
            return gone

    def all(self) -> list[Folder]:
        with self.lock:
            return [dict(f) for f in self._items.values()]

    def clear(self) -> None:
        with self.lock:
            self._items.clear()
