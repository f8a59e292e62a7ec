"""One Admin API budget per Cloudinary account, shared in Redis by every worker.

Cloudinary counts Admin API calls per hour per account and reports what is left in the
X-FeatureRateLimit-* headers of every answer. Each process alone would only learn the budget
after spending it, so the budget lives in one Redis hash per cloud name: every answer is
`observe`d into it and every call first `acquire`s from it, both as Lua scripts, so
concurrent workers never read-modify-write past each other. Callers that are refused go
another way (cleanup switches to the Upload API's `destroy`) or wait `wait_time()`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import redis

KEY_PREFIX = "mediasync:ratelimit:"
DEFAULT_RESERVE_FRACTION = 0.10
# Keep what we learnt a while past the reset: after it, the budget is full again anyway.
_KEEP_AFTER_RESET_S = 3600

# Returns 1 when n calls may be made now (and takes them), 0 when that would dig into the
# reserve. An unknown budget (nothing observed yet, or its window has ended) allows the call:
# its answer's headers teach us the real numbers.
_ACQUIRE = """
local key = KEYS[1]
local n, now, fraction, floor = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local limit = tonumber(redis.call('HGET', key, 'limit'))
if not limit then return 1 end
local reset_at = tonumber(redis.call('HGET', key, 'reset_at')) or 0
if reset_at <= now then
  redis.call('DEL', key)
  return 1
end
local remaining = tonumber(redis.call('HGET', key, 'remaining')) or limit
local reserve = math.max(floor, math.ceil(limit * fraction))
if remaining - n < reserve then return 0 end
redis.call('HINCRBY', key, 'remaining', -n)
return 1
"""

# Headers from concurrent answers arrive out of order: within one window the smallest
# `remaining` is the truest (our own acquires may already have gone below the server's);
# an answer from an older window is ignored.
_OBSERVE = """
local key = KEYS[1]
local limit, remaining, reset_at, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local stored_reset = tonumber(redis.call('HGET', key, 'reset_at')) or 0
local stored_remaining = tonumber(redis.call('HGET', key, 'remaining'))
if reset_at < stored_reset - 1 then return 0 end
if stored_remaining and math.abs(reset_at - stored_reset) <= 1 then
  remaining = math.min(remaining, stored_remaining)
end
redis.call('HSET', key, 'limit', limit, 'remaining', remaining, 'reset_at', reset_at, 'updated_at', now)
redis.call('EXPIRE', key, math.floor(math.max(reset_at - now, 0) + tonumber(ARGV[5])))
return 1
"""

_REFUND = """
local key = KEYS[1]
local limit = tonumber(redis.call('HGET', key, 'limit'))
if not limit then return 0 end
local remaining = tonumber(redis.call('HGET', key, 'remaining')) or limit
redis.call('HSET', key, 'remaining', math.min(limit, remaining + tonumber(ARGV[1])))
return 1
"""


@dataclass(frozen=True)
class BudgetSnapshot:
    cloud_name: str
    known: bool
    limit: int | None
    remaining: int | None
    reset_at: datetime | None
    reserve: int | None
    updated_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        for name in ("reset_at", "updated_at"):
            stamp = values[name]
            values[name] = stamp.isoformat() if stamp else None
        return values


class RateGovernor:
    """The shared Admin API budget of one Cloudinary account (generic: any Admin caller)."""

    def __init__(
        self,
        client: redis.Redis,
        cloud_name: str,
        *,
        reserve_fraction: float = DEFAULT_RESERVE_FRACTION,
        min_reserve: int = 1,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key = KEY_PREFIX + cloud_name
        self.cloud_name = cloud_name
        self.reserve_fraction = reserve_fraction
        self.min_reserve = min_reserve
        self._redis = client
        self._clock = clock
        self._acquire = client.register_script(_ACQUIRE)
        self._observe = client.register_script(_OBSERVE)
        self._refund = client.register_script(_REFUND)

    def acquire(self, n: int = 1) -> bool:
        """Take `n` calls from the budget; False when they would dig into the reserve."""
        args = [n, self._clock(), self.reserve_fraction, self.min_reserve]
        return bool(self._acquire(keys=[self.key], args=args))

    def refund(self, n: int = 1) -> None:
        """Give back calls acquired but not made."""
        self._refund(keys=[self.key], args=[n])

    def observe(
        self, limit: int | None, remaining: int | None, reset_at: float | None
    ) -> None:
        """Record an answer's X-FeatureRateLimit-* headers (reset as a Unix time)."""
        if limit is None or remaining is None or reset_at is None:
            return
        args = [limit, remaining, reset_at, self._clock(), _KEEP_AFTER_RESET_S]
        self._observe(keys=[self.key], args=args)

    def exhausted(self, reset_at: float, limit: int | None = None) -> None:
        """Record a 420/429: nothing is left until `reset_at` (or the known window's end)."""
        snap = self.snapshot()
        if snap.reset_at is not None:
            reset_at = max(reset_at, snap.reset_at.timestamp())
        self.observe(limit or snap.limit or 1, 0, reset_at)

    def wait_time(self) -> float:
        """Seconds until the budget allows a call again (0 when it does now)."""
        snap = self.snapshot()
        if not snap.known or snap.remaining is None or snap.reserve is None:
            return 0.0
        if snap.remaining > snap.reserve or snap.reset_at is None:
            return 0.0
        return max(0.0, snap.reset_at.timestamp() - self._clock())

    def snapshot(self) -> BudgetSnapshot:
        raw: dict[bytes, bytes] = self._redis.hgetall(self.key)  # type: ignore[assignment]  # sync client
        fields = {k.decode(): float(v) for k, v in raw.items()}
        if "limit" not in fields:
            return BudgetSnapshot(self.cloud_name, False, None, None, None, None, None)
        reset = fields.get("reset_at", 0.0)
        if reset <= self._clock():
            # the window ended: what we knew no longer holds (the next answer tells)
            return BudgetSnapshot(self.cloud_name, False, None, None, None, None, None)
        limit = int(fields["limit"])
        remaining = int(fields.get("remaining", limit))
        reserve = max(self.min_reserve, math.ceil(limit * self.reserve_fraction))
        updated = fields.get("updated_at")
        return BudgetSnapshot(
            cloud_name=self.cloud_name,
            known=True,
            limit=limit,
            remaining=remaining,
            reset_at=datetime.fromtimestamp(reset, UTC),
            reserve=reserve,
            updated_at=datetime.fromtimestamp(updated, UTC) if updated else None,
        )

    def forget(self) -> None:
        """Drop what is known (tests, or an operator after changing plans)."""
        self._redis.delete(self.key)
