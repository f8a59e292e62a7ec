"""The account's structured-metadata definitions: fields (with datasources) and rules.

Part of the emulator's state, in memory, emptied by a reset and not persisted. Fields
and rules are kept as the JSON objects the API returns, in the account's field order.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from cloudinary_emulator.errors import ApiError

Definition = dict[str, Any]


class MetadataRegistry:
    def __init__(self) -> None:
        # Handlers take this lock for a whole request so a check and its change are atomic.
        self.lock = threading.RLock()
        self._fields: dict[str, Definition] = {}
        self._rules: dict[str, Definition] = {}

    # Fields

    def fields(self) -> list[Definition]:
        with self.lock:
            return [copy.deepcopy(f) for f in self._fields.values()]

    def field(self, external_id: str) -> Definition | None:
        """The stored definition itself (callers hold the lock to change it)."""
        return self._fields.get(external_id)

    def require_field(self, external_id: str) -> Definition:
        field = self._fields.get(external_id)
        if field is None:
            raise ApiError(404, f"Metadata field {external_id} not found")
        return field

    def put_field(self, definition: Definition) -> None:
        with self.lock:
            self._fields[definition["external_id"]] = definition

    def remove_field(self, external_id: str) -> bool:
        with self.lock:
            return self._fields.pop(external_id, None) is not None

    def set_field_order(self, external_ids: list[str]) -> None:
        with self.lock:
            self._fields = {eid: self._fields[eid] for eid in external_ids}

    # Rules

    def rules(self) -> list[Definition]:
        with self.lock:
            return [copy.deepcopy(r) for r in self._rules.values()]

    def rule(self, external_id: str) -> Definition | None:
        return self._rules.get(external_id)

    def put_rule(self, rule: Definition) -> None:
        with self.lock:
            self._rules[rule["external_id"]] = rule

    def remove_rule(self, external_id: str) -> bool:
        with self.lock:
            return self._rules.pop(external_id, None) is not None

    def clear(self) -> None:
        with self.lock:
            self._fields.clear()
            self._rules.clear()
