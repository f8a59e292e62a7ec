"""The in-memory asset store: assets keyed three ways, plus sorted indexes for paging."""

from __future__ import annotations

import math
import os
import threading
from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

Key = tuple[str, str, str]  # (resource_type, delivery type, public_id)
NameKey = tuple[str, str]  # (public_id, delivery type)
TimeKey = tuple[int, str, str]  # (created_at, public_id, delivery type)
ALL_TYPES = "*"
_K = TypeVar("_K", NameKey, TimeKey)


@dataclass(slots=True)
class Asset:
    asset_id: str
    resource_type: str
    type: str
    public_id: str
    version: int
    version_id: str
    format: str
    bytes: int
    width: int | None
    height: int | None
    etag: str
    created_at: int
    uploaded_at: int
    updated_at: float
    asset_folder: str
    display_name: str
    original_filename: str
    tags: list[str] = field(default_factory=list)
    context: dict[str, str] = field(default_factory=dict)
    # Structured metadata by field external_id: str, int, or a list for set fields.
    metadata: dict[str, Any] = field(default_factory=dict)
    # Only the facets that changed since upload, as Cloudinary's `last_updated` does.
    last_updated: dict[str, float] = field(default_factory=dict)
    source_url: str | None = None
    # Moderation entries as Cloudinary lists them: {"kind", "status", "updated_at"}.
    moderation: list[dict[str, Any]] = field(default_factory=list)
    access_mode: str = "public"
    access_control: list[dict[str, Any]] | None = None
    # Derived resources (eager or on-the-fly): {"id", "transformation", "format", "bytes", ...}.
    derived: list[dict[str, Any]] = field(default_factory=list)
    # Earlier versions kept as backups, newest last: plain dicts of this asset's fields.
    backups: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> Key:
        return (self.resource_type, self.type, self.public_id)


_FIELDS = tuple(f.name for f in fields(Asset))


class _Index:
    """Two sorted key lists for one (resource_type, type) scope.

    Pages are found with bisect on the last key returned, so a cursor stays valid
    (no gaps, no repeats) while other callers insert or delete.
    """

    __slots__ = ("by_name", "by_time")

    def __init__(self) -> None:
        self.by_name: list[NameKey] = []
        self.by_time: list[TimeKey] = []

    def add(self, asset: Asset) -> None:
        insort(self.by_name, (asset.public_id, asset.type))
        insort(self.by_time, (asset.created_at, asset.public_id, asset.type))

    def remove(self, asset: Asset) -> None:
        _discard(self.by_name, (asset.public_id, asset.type))
        _discard(self.by_time, (asset.created_at, asset.public_id, asset.type))


def _discard(keys: list[_K], item: _K) -> None:
    position = bisect_left(keys, item)
    if position < len(keys) and keys[position] == item:
        del keys[position]


class Store:
    """All assets. `lock` is held by callers around a whole read-modify-write."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clear()

    def clear(self) -> None:
        with self.lock:
            self._by_key: dict[Key, Asset] = {}
            self._by_asset_id: dict[str, Asset] = {}
            self._indexes: dict[tuple[str, str], _Index] = {}
            # Versions must keep rising for a public_id even across delete + re-upload.
            self._tombstones: dict[Key, int] = {}
            self.generation = 0

    def __len__(self) -> int:
        return len(self._by_key)

    def snapshot(self) -> list[Asset]:
        with self.lock:
            return list(self._by_key.values())

    def get(self, resource_type: str, dtype: str, public_id: str) -> Asset | None:
        return self._by_key.get((resource_type, dtype, public_id))

    def by_asset_id(self, asset_id: str) -> Asset | None:
        return self._by_asset_id.get(asset_id)

    def last_version(self, key: Key) -> int:
        existing = self._by_key.get(key)
        return existing.version if existing else self._tombstones.get(key, 0)

    def touch(self) -> None:
        """Record an in-place change so cached search results are recomputed."""
        self.generation += 1

    def add(self, asset: Asset) -> None:
        with self.lock:
            self._by_key[asset.key] = asset
            self._by_asset_id[asset.asset_id] = asset
            for index in self._scopes(asset.resource_type, asset.type):
                index.add(asset)
            self.generation += 1

    def remove(self, asset: Asset) -> None:
        with self.lock:
            del self._by_key[asset.key]
            del self._by_asset_id[asset.asset_id]
            for index in self._scopes(asset.resource_type, asset.type):
                index.remove(asset)
            self._tombstones[asset.key] = asset.version
            self.generation += 1

    def move(self, asset: Asset, dtype: str, public_id: str) -> None:
        """Give an asset a new key (rename); every index keyed on it follows."""
        with self.lock:
            self.remove(asset)
            asset.type = dtype
            asset.public_id = public_id
            self.add(asset)

    def page_by_name(
        self,
        resource_type: str,
        dtype: str | None,
        prefix: str,
        after: NameKey | None,
        limit: int,
    ) -> tuple[list[Asset], NameKey | None]:
        """Assets whose public_id starts with prefix, ascending; the key to resume at."""
        with self.lock:
            keys = self._index(resource_type, dtype).by_name
            # "" sorts first, so (prefix, "") is the smallest key starting with prefix.
            start = bisect_left(keys, (prefix, ""))
            if after is not None:
                start = max(start, bisect_right(keys, after))
            end = start
            while end < len(keys) and end - start < limit:
                if not keys[end][0].startswith(prefix):
                    break
                end += 1
            page = [self._by_key[(resource_type, t, p)] for p, t in keys[start:end]]
            more = end < len(keys) and keys[end][0].startswith(prefix)
            return page, (keys[end - 1] if more and page else None)

    def page_by_time(
        self,
        resource_type: str,
        dtype: str | None,
        descending: bool,
        after: TimeKey | None,
        start_at: float | None,
        limit: int,
    ) -> tuple[list[Asset], TimeKey | None]:
        """Assets by (created_at, public_id), created at or after start_at."""
        with self.lock:
            keys = self._index(resource_type, dtype).by_time
            floor = 0
            if start_at is not None:
                floor = bisect_left(keys, (math.ceil(start_at), "", ""))
            if descending:
                end = bisect_left(keys, after) if after is not None else len(keys)
                begin = max(floor, end - limit)
                chosen = keys[begin:end][::-1]
                more = begin > floor
            else:
                begin = floor
                if after is not None:
                    begin = max(floor, bisect_right(keys, after))
                chosen = keys[begin : begin + limit]
                more = begin + limit < len(keys)
            page = [self._by_key[(resource_type, t, p)] for _, p, t in chosen]
            return page, (chosen[-1] if more and chosen else None)

    def seed(self, assets: list[Asset]) -> int:
        """Bulk insert without per-asset insort: append everything, then sort once."""
        with self.lock:
            added = [a for a in assets if a.key not in self._by_key]
            for asset in added:
                if asset.key in self._tombstones:  # keep versions rising per public_id
                    asset.version = max(asset.version, self._tombstones[asset.key] + 1)
                self._by_key[asset.key] = asset
                self._by_asset_id[asset.asset_id] = asset
            touched: set[tuple[str, str]] = set()
            for asset in added:
                for scope in (
                    (asset.resource_type, asset.type),
                    (asset.resource_type, ALL_TYPES),
                ):
                    index = self._indexes.setdefault(scope, _Index())
                    index.by_name.append((asset.public_id, asset.type))
                    index.by_time.append(
                        (asset.created_at, asset.public_id, asset.type)
                    )
                    touched.add(scope)
            for scope in touched:
                self._indexes[scope].by_name.sort()
                self._indexes[scope].by_time.sort()
            self.generation += 1
            return len(added)

    def dump(self) -> dict[str, Any]:
        """Plain data for persistence: every asset's fields and the version floors."""
        with self.lock:
            return {
                "assets": [
                    {name: getattr(a, name) for name in _FIELDS}
                    for a in self._by_key.values()
                ],
                "tombstones": [[*key, v] for key, v in self._tombstones.items()],
            }

    def restore(self, data: dict[str, Any]) -> int:
        """Replace the contents with what dump() returned; the number of assets."""
        assets = [Asset(**fields) for fields in data.get("assets", [])]
        with self.lock:
            self.clear()
            # the assets first: a dump is a consistent state, its versions stay as they were
            count = self.seed(assets)
            for rt, dtype, public_id, version in data.get("tombstones", []):
                self._tombstones[(rt, dtype, public_id)] = int(version)
            return count

    def _index(self, resource_type: str, dtype: str | None) -> _Index:
        return self._indexes.get((resource_type, dtype or ALL_TYPES)) or _Index()

    def _scopes(self, resource_type: str, dtype: str) -> list[_Index]:
        return [
            self._indexes.setdefault((resource_type, dtype), _Index()),
            self._indexes.setdefault((resource_type, ALL_TYPES), _Index()),
        ]


def random_hex(count: int) -> list[str]:
    """count random 32-hex ids from one urandom call (seeding 100k must stay cheap)."""
    blob = os.urandom(16 * count).hex()
    return [blob[i : i + 32] for i in range(0, len(blob), 32)]
