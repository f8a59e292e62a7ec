"""The locks an apply batch holds, so that two batches never decide about one asset from
different views: one advisory lock per asset_id and per name, taken in sorted order, under a
lock every apply holds shared. A batch naming more than MAX_KEY_LOCKS keys (one delete
notification may list thousands of assets) takes that lock exclusively instead, so the
locks a transaction holds stay bounded whatever a notification contains. All of them are
transaction locks: they go with the batch's commit or rollback.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from db import json_codec

MAX_KEY_LOCKS = 2000
_APPLY_LOCK = 0x6D65_6469_6173_796E  # "mediasyn": every apply holds it, shared or not

_LOCK_ALL = text("SELECT pg_advisory_xact_lock(:key)")
# Sorted by lock hash, so two batches naming the same keys cannot take them in opposite
# orders (a deadlock PostgreSQL would have to break).
_KEY_LOCKS = """(SELECT count(pg_advisory_xact_lock(h))
  FROM (SELECT DISTINCT hashtextextended(k, 0) AS h
          FROM json_array_elements_text(CAST(:keys AS json)) AS k ORDER BY h) locks)"""
_LOCK = text(f"SELECT {_KEY_LOCKS}")
# The first keys of a batch with the shared apply lock, in one round trip (a batch of a
# few rows, as a steady flow makes them, pays for every statement).
_LOCK_FIRST = text(f"SELECT pg_advisory_xact_lock_shared(:key), {_KEY_LOCKS}")


class BatchLocks:
    """One transaction's locks; `lock` takes those of keys it names for the first time
    (the caller keeps track of which keys it has loaded)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        # past MAX_KEY_LOCKS keys (a batch's first load, or as it grows) the apply lock is
        # taken exclusively and no key is locked one by one
        self._exclusive = False
        self._locked_apply = False
        self._key_locks = 0

    def lock(self, keys: list[str]) -> None:
        if self._exclusive and self._locked_apply:
            return  # the whole apply is this transaction's
        if not self._exclusive and self._key_locks + len(keys) > MAX_KEY_LOCKS:
            # (taken after a shared one, it waits for the other applies to finish)
            self._exclusive, self._locked_apply = True, False
        if self._exclusive:
            self._locked_apply = True
            self.session.execute(_LOCK_ALL, {"key": _APPLY_LOCK})
            return
        first = not self._locked_apply
        self._locked_apply = True
        self._key_locks += len(keys)
        lock = _LOCK_FIRST if first else _LOCK
        self.session.execute(lock, {"key": _APPLY_LOCK, "keys": json_codec.dumps(keys)})
