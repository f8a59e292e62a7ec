"""media_assets' columns by name, for code that reads and writes its rows without the ORM.

Taken from db.models.MediaAsset, where the columns are typed out once: a column added
there is here too. Names are MediaAsset's attribute names (`metadata_` for the `metadata`
column), in table order; code may rely on that order (workers/inbox/asset_row.py slices
the adjacent tags, context and metadata_).
"""

from __future__ import annotations

from db.models import MediaAsset

# Every column.
ALL: tuple[str, ...] = tuple(MediaAsset.__mapper__.column_attrs.keys())
# The database fills these in on insert; no flow writes them.
DATABASE_FILLED = ("id", "created_at")
# The columns a row written as plain values carries (the inbox's AssetRow).
WRITTEN: tuple[str, ...] = tuple(name for name in ALL if name not in DATABASE_FILLED)
