"""The transformations an account has defined through the API (transformations.py).

Named transformations and explicitly created unnamed ones live here. Implicit ones
(made by eager or on-the-fly derivation) are read off the assets' derived resources
instead, so they appear and disappear with those. In memory, emptied by a reset.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class Entry:
    # Named: the bare name (listed as `t_<name>`). Unnamed: its canonical string.
    name: str
    definition: str  # canonical transformation string
    named: bool
    allowed_for_strict: bool = False

    @property
    def listed_name(self) -> str:
        return f"t_{self.name}" if self.named else self.name


class Transformations:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._items: dict[str, Entry] = {}

    def get(self, key: str) -> Entry | None:
        return self._items.get(key)

    def put(self, entry: Entry) -> None:
        with self.lock:
            self._items[entry.name] = entry

    def remove(self, key: str) -> None:
        with self.lock:
            self._items.pop(key, None)

    def entries(self) -> list[Entry]:
        with self.lock:
            return list(self._items.values())

    def clear(self) -> None:
        with self.lock:
            self._items.clear()
