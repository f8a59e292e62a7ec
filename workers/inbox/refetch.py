"""Re-fetch an asset from the Admin API and write it as a full state; mark it when we cannot.

Used where a notification cannot be merged (an undocumented shape, an asset of which no full
state is known). The answer is the asset's state as of the request, so it is stamped with
when the request was sent (docs/ordering.md); it never revives the version the host app
deleted (registers.write_full).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import redis
from cloudinary.exceptions import NotFound, RateLimited

from workers.cloudinary_client import CloudinaryClient, rate_limit_of
from workers.inbox import events, registers
from workers.inbox.asset_store import AssetStore
from workers.inbox.events import Identity
from workers.inbox.stamps import FETCH, stamp
from workers.inbox.writes import Outcome, full_state, mark_needs_refresh, outcome
from workers.rate_governor import RateGovernor

# when a 420/429 says nothing about its reset, assume the budget is back after this
FALLBACK_RESET_S = 60.0


class AssetFetcher(Protocol):
    """The part of workers.cloudinary_client.CloudinaryClient the apply uses."""

    def resource_by_asset_id(self, asset_id: str) -> Any: ...

    def resource(
        self, public_id: str, resource_type: str = ..., delivery_type: str = ...
    ) -> Any: ...

    def resources_by_asset_folder(self, folder: str, max_results: int) -> Any: ...


class OverBudget(Exception):
    """The fleet's shared Admin API budget is down to its reserve; no call was made."""


class BudgetedFetcher:
    """An AssetFetcher spending from the Admin API budget every worker shares (Redis),
    and teaching it what each answer's rate-limit headers say."""

    def __init__(self, client: CloudinaryClient, governor: RateGovernor) -> None:
        self._client = client
        self._governor = governor

    def resource_by_asset_id(self, asset_id: str) -> Any:
        return self._call(lambda: self._client.resource_by_asset_id(asset_id))

    def resource(
        self,
        public_id: str,
        resource_type: str = "image",
        delivery_type: str = "upload",
    ) -> Any:
        return self._call(
            lambda: self._client.resource(public_id, resource_type, delivery_type)
        )

    def resources_by_asset_folder(self, folder: str, max_results: int) -> Any:
        return self._call(
            lambda: self._client.resources_by_asset_folder(folder, max_results)
        )

    def _call(self, request: Callable[[], Any]) -> Any:
        # The budget is an optimisation over Cloudinary's own 420s: without Redis, call
        # anyway (a 420 still stops us) rather than stall the inbox.
        try:
            allowed = self._governor.acquire(1)
        except redis.RedisError:
            allowed = True
        if not allowed:
            raise OverBudget
        try:
            result = request()
        except RateLimited:
            info = self._client.last_rate_limit()
            now = time.time()
            reset = info.reset_at if info and info.reset_at else 0.0
            with contextlib.suppress(redis.RedisError):
                self._governor.exhausted(
                    reset if reset > now else now + FALLBACK_RESET_S,
                    info.limit if info else None,
                )
            raise
        info = rate_limit_of(result)
        if info is not None:
            with contextlib.suppress(redis.RedisError):
                self._governor.observe(info.limit, info.remaining, info.reset_at)
        return result


def refetch(
    store: AssetStore,
    fetcher: AssetFetcher | None,
    asset_id: str | None,
    identity: Identity | None,
    *,
    why: str,
) -> Outcome:
    """Ask the Admin API for the asset (by asset_id when known: names move) and write the
    answer as a full state, stamped with when the request was sent: the answer is the state
    as of then or later, so an event it already includes may arrive later and change
    nothing, and an event made after it still wins."""
    public_id = identity.public_id if identity else None
    if asset_id is None and identity is None:
        return Outcome("stale", None, None, f"{why}; names no asset")
    if fetcher is None:
        # reconciliation picks up rows marked so
        mark_needs_refresh(store.row_for(asset_id, identity))
        return Outcome("needs_refresh", public_id, asset_id, f"{why}; no account")
    asked = stamp(datetime.now(UTC), 0, FETCH)
    try:
        if asset_id is not None:
            resource = fetcher.resource_by_asset_id(asset_id)
        else:
            assert identity is not None  # noqa: S101 -- checked above
            resource = fetcher.resource(
                identity.public_id, identity.resource_type, identity.delivery_type
            )
    except (RateLimited, OverBudget):
        mark_needs_refresh(store.row_for(asset_id, identity))
        return Outcome("needs_refresh", public_id, asset_id, f"{why}; rate limited")
    except NotFound:
        return _gone(store, asset_id, identity, asked, why)
    fetched: dict[str, Any] = dict(resource)
    if fetched.get("placeholder") is True:
        # a deleted asset with backups: its details stay, as a placeholder, until a
        # restore; it is deleted as of `asked` (never a live full state), and holds no
        # name (an upload to it makes a new asset)
        if asset_id is None and identity is not None:
            store.claim(identity, None, asked)
        return _gone(store, asset_id or events.asset_id(fetched), identity, asked, why)
    fetched_identity = events.identity(fetched) or identity
    if fetched_identity is None:
        return Outcome("stale", public_id, asset_id, f"{why}; answer names no asset")
    columns = events.asset_columns(fetched)
    outcome = full_state(
        store, events.asset_id(fetched) or asset_id, fetched_identity, columns, asked
    )
    return outcome._replace(detail=f"{why}; re-fetched ({outcome.detail or 'ok'})")


def assets_in_folder(
    fetcher: AssetFetcher, folder: str, limit: int
) -> list[tuple[str | None, Identity]] | None:
    """The assets in `folder` now, as (asset_id, identity): up to `limit + 1` (more than
    `limit`: too many to re-fetch one by one); None when the budget is spent. A listing
    leaves fields out (the etag), so the caller re-fetches each asset rather than
    writing what is listed as its full state."""
    try:
        answer = fetcher.resources_by_asset_folder(folder, limit + 1)
    except (RateLimited, OverBudget):
        return None
    except NotFound:
        return []
    found = []
    for resource in answer.get("resources", ()):
        if isinstance(resource, dict) and (named := events.identity(resource)):
            found.append((events.asset_id(resource), named))
    return found


def _gone(
    store: AssetStore,
    asset_id: str | None,
    identity: Identity | None,
    asked: str,
    why: str,
) -> Outcome:
    """Cloudinary has no such asset (as of `asked`): by asset_id, that asset is deleted
    (which says nothing of who holds its last name now: another asset may, by events not
    yet applied); by name alone, nobody holds the name. Never another asset's row."""
    public_id = identity.public_id if identity else None
    if asset_id is None:
        assert identity is not None  # noqa: S101 -- refetch checked
        store.claim(identity, None, asked)
        return Outcome("applied", public_id, None, f"{why}; not in Cloudinary")
    row = store.row_for(asset_id, identity)
    assert row is not None  # noqa: S101 -- an asset_id always has a row
    before = row.stamps
    registers.write_deleted(row, asked)
    return outcome(row, before, f"{why}; not in Cloudinary")
