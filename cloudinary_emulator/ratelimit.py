"""The hourly Admin API budget and its X-FeatureRateLimit-* headers."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from cloudinary_emulator.timefmt import rfc1123

HOUR_S = 3600


class RateLimiter:
    """A fixed-window budget. The window ends at the top of the next hour, like
    Cloudinary's, unless `configure(reset_in=...)` set a custom window length."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._initial_limit = limit
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._limit = self._initial_limit
            self._window: float | None = None
            self._remaining = self._limit
            self._reset_at = self._next_reset(self._clock())

    def configure(
        self, limit: int, remaining: int | None = None, reset_in: float | None = None
    ) -> None:
        if limit < 0 or (remaining is not None and remaining < 0):
            raise ValueError("limit and remaining must not be negative")
        with self._lock:
            now = self._clock()
            self._limit = limit
            if reset_in is not None:
                self._window = max(float(reset_in), 0.001)
            self._remaining = limit if remaining is None else min(remaining, limit)
            self._reset_at = self._next_reset(now)

    def take(self) -> tuple[bool, dict[str, str]]:
        """Spend one call. (allowed, headers to send either way)."""
        with self._lock:
            self._roll()
            allowed = self._remaining > 0
            if allowed:
                self._remaining -= 1
            return allowed, self._headers()

    def headers(self) -> dict[str, str]:
        with self._lock:
            self._roll()
            return self._headers()

    def state(self) -> dict[str, float | int]:
        with self._lock:
            self._roll()
            return {
                "limit": self._limit,
                "remaining": self._remaining,
                "reset_at": self._reset_at,
            }

    def _roll(self) -> None:
        now = self._clock()
        if now >= self._reset_at:
            self._remaining = self._limit
            self._reset_at = self._next_reset(now)

    def _next_reset(self, now: float) -> float:
        if self._window is not None:
            return now + self._window
        return float(math.floor(now / HOUR_S) * HOUR_S + HOUR_S)

    def _headers(self) -> dict[str, str]:
        return {
            "X-FeatureRateLimit-Limit": str(self._limit),
            "X-FeatureRateLimit-Remaining": str(self._remaining),
            "X-FeatureRateLimit-Reset": rfc1123(self._reset_at),
        }
