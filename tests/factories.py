"""Plain functions that build rows for tests."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

from sqlalchemy.orm import Session

from db.models import MediaAsset

_counter = itertools.count(1)


def make_asset(session: Session, **overrides: Any) -> MediaAsset:
    n = next(_counter)
    public_id = overrides.pop("public_id", f"tests/asset-{n}")
    values: dict[str, Any] = {
        "public_id": public_id,
        "asset_id": hashlib.md5(public_id.encode(), usedforsecurity=False).hexdigest(),
        "resource_type": "image",
        "delivery_type": "upload",
        "version": 1_700_000_000 + n,
        "format": "jpg",
        "bytes": 1000 + n,
        "tags": [],
        **overrides,
    }
    asset = MediaAsset(**values)
    session.add(asset)
    session.flush()
    return asset
