"""MEDIASYNC_DELETE_SCOPE's value: the assets mediasync may ever delete from Cloudinary
(README "Safety"). Parsed by workers/config.py, read by workers/cleanup/guard.py."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class DeleteScope:
    """MEDIASYNC_DELETE_SCOPE: the assets mediasync may ever delete from Cloudinary, e.g.
    `prefix:shop/,folder:products,tag:managed-by-app`. An asset is inside when any one item
    matches: its public_id starts with a prefix, it lies in a folder (or below it), or it
    carries a tag."""

    prefixes: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: str) -> DeleteScope:
        found: dict[str, list[str]] = {"prefix": [], "folder": [], "tag": []}
        for item in raw.split(","):
            kind, sep, value = item.strip().partition(":")
            if not sep or kind not in found or not value.strip():
                raise ValueError(
                    f"{item.strip()!r} is not prefix:<text>, folder:<name> or tag:<name>"
                )
            found[kind].append(value.strip())
        return cls(
            tuple(found["prefix"]),
            tuple(f.strip("/") for f in found["folder"]),
            tuple(found["tag"]),
        )

    def contains(
        self, public_id: str, folder: str | None, tags: Iterable[str] | None
    ) -> bool:
        if any(public_id.startswith(prefix) for prefix in self.prefixes):
            return True
        # a fixed-folder account has no folder field: the public_id's path is its folder
        where = (folder if folder is not None else public_id.rpartition("/")[0]).strip(
            "/"
        )
        if any(where == f or where.startswith(f + "/") for f in self.folders):
            return True
        return bool(set(tags or ()) & set(self.tags))

    def describe(self) -> str:
        return ",".join(
            [f"prefix:{p}" for p in self.prefixes]
            + [f"folder:{f}" for f in self.folders]
            + [f"tag:{t}" for t in self.tags]
        )
