"""The one place that calls the `cloudinary` SDK.

Credentials and the API host are passed on every call instead of living in the SDK's
process-global config, so one process can talk to several accounts (or emulators) safely.
"""

from __future__ import annotations

import calendar
import email.utils
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cloudinary
import cloudinary.api
import cloudinary.uploader
from cloudinary.api_client import call_api as _admin_transport

from workers.config import CloudinaryAccount

DEFAULT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RateLimit:
    """An Admin answer's X-FeatureRateLimit-* headers; `reset_at` is a Unix time."""

    limit: int | None
    remaining: int | None
    reset_at: float | None


class _HeaderRecorder:
    """The SDK's urllib3 pool, remembering each thread's last response headers.

    The SDK raises RateLimited without the response, so the reset time a 420/429 carries
    (when to try again) would be lost; this pass-through keeps it readable afterwards.
    """

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._local = threading.local()

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self._local.headers = None
        response = self._pool.request(*args, **kwargs)
        self._local.headers = response.headers
        return response

    def last_headers(self) -> Mapping[str, str] | None:
        headers: Mapping[str, str] | None = getattr(self._local, "headers", None)
        return headers

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


def _install_recorder() -> _HeaderRecorder | None:
    pool = getattr(_admin_transport, "_http", None)
    if pool is None:  # a future SDK moved it: we only lose the reset time of a 420
        return None
    if not isinstance(pool, _HeaderRecorder):
        pool = _HeaderRecorder(pool)
        _admin_transport._http = pool
    return pool


_RECORDER = _install_recorder()


def rate_limit_of(result: Any) -> RateLimit | None:
    """The budget an Admin result reports (the SDK parses the headers onto it)."""
    reset = getattr(result, "rate_limit_reset_at", None)
    info = RateLimit(
        limit=getattr(result, "rate_limit_allowed", None),
        remaining=getattr(result, "rate_limit_remaining", None),
        # parsedate gives a GMT time tuple
        reset_at=float(calendar.timegm(reset)) if reset else None,
    )
    return info if info.limit is not None or info.remaining is not None else None


def _rate_limit_from_headers(headers: Mapping[str, str]) -> RateLimit | None:
    def number(name: str) -> int | None:
        value = headers.get(name)
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    reset_header = headers.get("x-featureratelimit-reset")
    reset = email.utils.parsedate(reset_header) if reset_header else None
    info = RateLimit(
        limit=number("x-featureratelimit-limit"),
        remaining=number("x-featureratelimit-remaining"),
        reset_at=float(calendar.timegm(reset)) if reset else None,
    )
    if info == RateLimit(None, None, None):
        return None
    return info


class CloudinaryClient:
    def __init__(
        self, account: CloudinaryAccount, *, timeout: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.account = account
        self.timeout = timeout

    def _options(self) -> dict[str, Any]:
        # The Upload API ignores the configured timeout; it must be given per call.
        return {**self.account.sdk_config(), "timeout": self.timeout}

    def last_rate_limit(self) -> RateLimit | None:
        """The rate-limit headers of this thread's last Admin response, failed ones included."""
        headers = _RECORDER.last_headers() if _RECORDER is not None else None
        return _rate_limit_from_headers(headers) if headers else None

    def resource(
        self,
        public_id: str,
        resource_type: str = "image",
        delivery_type: str = "upload",
    ) -> Any:
        return cloudinary.api.resource(
            public_id,
            resource_type=resource_type,
            type=delivery_type,
            **self._options(),
        )

    def resource_by_asset_id(self, asset_id: str) -> Any:
        return cloudinary.api.resource_by_asset_id(asset_id, **self._options())

    def resources_by_asset_folder(self, folder: str, max_results: int) -> Any:
        """The assets in one asset folder (not below it), as complete as a listing
        gets: tags, context, metadata and moderation asked for."""
        return cloudinary.api.resources_by_asset_folder(
            folder,
            max_results=max_results,
            tags=True,
            context=True,
            metadata=True,
            moderations=True,
            **self._options(),
        )

    def delete_resources(
        self,
        public_ids: list[str],
        resource_type: str,
        delivery_type: str,
        *,
        invalidate: bool = False,
    ) -> Any:
        """`invalidate`: also purge the CDN's cached copies (MEDIASYNC_DELETE_INVALIDATE)."""
        return cloudinary.api.delete_resources(
            public_ids,
            resource_type=resource_type,
            type=delivery_type,
            **_invalidating(invalidate),
            **self._options(),
        )

    def destroy(
        self,
        public_id: str,
        resource_type: str,
        delivery_type: str,
        *,
        invalidate: bool = False,
    ) -> Any:
        return cloudinary.uploader.destroy(
            public_id,
            resource_type=resource_type,
            type=delivery_type,
            **_invalidating(invalidate),
            **self._options(),
        )

    def resources(self, resource_type: str, delivery_type: str, **params: Any) -> Any:
        return cloudinary.api.resources(
            resource_type=resource_type, type=delivery_type, **params, **self._options()
        )

    def resources_by_public_ids(
        self,
        public_ids: list[str],
        resource_type: str,
        delivery_type: str,
        **params: Any,
    ) -> Any:
        """These assets (at most 100 per call); the ones Cloudinary lacks are left out of
        the answer's `resources`."""
        return cloudinary.api.resources_by_ids(
            public_ids,
            resource_type=resource_type,
            type=delivery_type,
            **params,
            **self._options(),
        )

    def search(self, expression: str, **params: Any) -> Any:
        search = cloudinary.Search().expression(expression)
        for key, value in params.items():
            search = getattr(search, key)(
                *value if isinstance(value, tuple) else (value,)
            )
        return search.execute(**self._options())

    # -- account checks and notification triggers (mediasync doctor / connect) ----------

    def usage(self) -> Any:
        """The account's usage report: one cheap authenticated Admin call."""
        return cloudinary.api.usage(**self._options())

    def signed_probe(self, public_id: str) -> Any:
        """A signed Upload API call that changes nothing (explicit on an asset that does not
        exist): Cloudinary answers "not found" when the signature, and so the configured
        signature algorithm, is right, and "Invalid Signature" when it is not."""
        return cloudinary.uploader.explicit(public_id, type="upload", **self._options())

    def triggers(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """The account's notification triggers (each: id, uri, uri_type, event_type)."""
        options = {"event_type": event_type} if event_type else {}
        answer = cloudinary.api.triggers(**options, **self._options())
        return list(answer.get("triggers") or [])

    def create_trigger(self, uri: str, event_type: str) -> Any:
        return cloudinary.api.create_trigger(uri, event_type, **self._options())

    def update_trigger(self, trigger_id: str, uri: str) -> Any:
        return cloudinary.api.update_trigger(trigger_id, uri, **self._options())

    def delete_trigger(self, trigger_id: str) -> Any:
        return cloudinary.api.delete_trigger(trigger_id, **self._options())


def _invalidating(invalidate: bool) -> dict[str, Any]:
    # sent only when asked: the parameter changes what a delete costs at Cloudinary
    return {"invalidate": True} if invalidate else {}
