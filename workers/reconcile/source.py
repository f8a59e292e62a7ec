"""Reconciliation's Admin API calls, inside the shared budget and the run's share of it.

Every call first passes two gates: the run's share (MEDIASYNC_RECONCILE_BUDGET_SHARE of what
was left when the run met the current rate-limit window; other callers' spending counts
against it too, so reconciliation always yields) and the fleet-wide RateGovernor reserve.
A closed gate, a 420/429 or a transient failure raises Paused; the run saves its cursor and
continues later from the same page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cloudinary.exceptions import BadRequest, NotFound

from workers.cloudinary_client import CloudinaryClient, rate_limit_of
from workers.cloudinary_errors import Failure, classify
from workers.rate_governor import RateGovernor

PAGE_SIZE = 500  # the Admin and Search APIs' maximum
# When a 420 carries no readable reset, or the governor refuses without knowing when.
FALLBACK_WAIT_S = 60.0
# The reset header has whole seconds: waking a second later never lands just before it.
RESET_MARGIN_S = 1.0
TRANSIENT_BACKOFF_S = (5.0, 30.0, 120.0, 600.0)


class Paused(Exception):
    """The run must stop here and continue after `wait_s` (None: when an operator says)."""

    def __init__(self, reason: str, wait_s: float | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait_s = wait_s


class CursorExpired(Exception):
    """Cloudinary no longer accepts a saved next_cursor: list that scope again."""


class AdminCalls:
    """The Admin API as one run sees it. `window` is persisted with the run's cursor."""

    def __init__(
        self,
        client: CloudinaryClient,
        governor: RateGovernor,
        *,
        share: float,
        window: dict[str, float] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.governor = governor
        self.share = share
        self.window: dict[str, float] = dict(window or {})
        self.calls = 0
        self._clock = clock

    def call(self, request: Callable[[], Any]) -> Any:
        self._gate()
        self.calls += 1
        try:
            result = request()
        except Exception as exc:
            self._failed(exc)
            raise
        info = rate_limit_of(result)
        if info is not None:
            self.governor.observe(info.limit, info.remaining, info.reset_at)
        return result

    def list_page(
        self, resource_type: str, delivery_type: str, next_cursor: str | None
    ) -> Any:
        # Oldest first: an asset uploaded (or re-uploaded) during the run lands after the
        # cursor and is still seen, instead of slipping in before it.
        params: dict[str, Any] = {
            "max_results": PAGE_SIZE,
            "direction": "asc",
            "tags": True,
            "context": True,
            "metadata": True,
            "moderations": True,
        }
        if next_cursor:
            params["next_cursor"] = next_cursor
        return self.call(
            lambda: self.client.resources(resource_type, delivery_type, **params)
        )

    def search_page(self, expression: str, next_cursor: str | None) -> Any:
        params: dict[str, Any] = {
            "sort_by": ("public_id", "asc"),
            "max_results": PAGE_SIZE,
            "with_field": ["tags", "context", "metadata"],
        }
        if next_cursor:
            params["next_cursor"] = next_cursor
        return self.call(lambda: self.client.search(expression, **params))

    def resource(
        self, public_id: str, resource_type: str, delivery_type: str
    ) -> Any | None:
        """One asset, or None when Cloudinary has no such asset (404)."""
        try:
            return self.call(
                lambda: self.client.resource(public_id, resource_type, delivery_type)
            )
        except NotFound:
            return None

    def _gate(self) -> None:
        now = self._clock()
        snap = self.governor.snapshot()
        if snap.known and snap.reset_at is not None and snap.remaining is not None:
            reset_at = snap.reset_at.timestamp()
            if abs(self.window.get("reset_at", 0.0) - reset_at) > 1.0:
                # a new window: this run may spend `share` of what is left in it
                self.window = {
                    "reset_at": reset_at,
                    "floor": snap.remaining * (1.0 - self.share),
                }
            if snap.remaining <= self.window["floor"]:
                raise Paused(
                    f"budget share used: {snap.remaining} Admin calls left this "
                    f"window, {self.share:.0%} of them was this run's",
                    reset_at - now + RESET_MARGIN_S,
                )
        if not self.governor.acquire(1):
            wait = self.governor.wait_time()
            raise Paused(
                "the shared Admin API budget is down to its reserve",
                (wait + RESET_MARGIN_S) if wait > 0 else FALLBACK_WAIT_S,
            )

    def _failed(self, exc: Exception) -> None:
        """Record what a failed call teaches about the budget; turn it into Paused where
        waiting is the cure. Permanent errors propagate unchanged."""
        info = self.client.last_rate_limit()
        kind = classify(exc)
        if kind is Failure.RATE_LIMITED:
            now = self._clock()
            reset = info.reset_at if info and info.reset_at else None
            if reset is None or reset <= now:
                reset = now + FALLBACK_WAIT_S
            self.governor.exhausted(reset, info.limit if info else None)
            wait = max(self.governor.wait_time(), reset - now) + RESET_MARGIN_S
            raise Paused("rate limited by Cloudinary (HTTP 420/429)", wait) from exc
        if info is not None:
            self.governor.observe(info.limit, info.remaining, info.reset_at)
        if isinstance(exc, BadRequest) and "next_cursor" in str(exc):
            raise CursorExpired(str(exc)) from exc
        if kind is Failure.TRANSIENT:
            raise TransientFailure(f"{type(exc).__name__}: {exc}") from exc


class TransientFailure(Exception):
    """A 5xx, timeout or dropped connection: worth trying again after a backoff."""


def transient_backoff_s(failures: int) -> float:
    return TRANSIENT_BACKOFF_S[min(failures, len(TRANSIENT_BACKOFF_S)) - 1]
