"""The one place that calls the `cloudinary` SDK.

Credentials and the API host are passed on every call instead of living in the SDK's
process-global config, so one process can talk to several accounts (or emulators) safely.
"""

from __future__ import annotations

from typing import Any

import cloudinary
import cloudinary.api
import cloudinary.uploader

from workers.config import CloudinaryAccount

DEFAULT_TIMEOUT_S = 30.0


class CloudinaryClient:
    def __init__(
        self, account: CloudinaryAccount, *, timeout: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.account = account
        self.timeout = timeout

    def _options(self) -> dict[str, Any]:
        # The Upload API ignores the configured timeout; it must be given per call.
        return {**self.account.sdk_config(), "timeout": self.timeout}

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

    def delete_resources(
        self, public_ids: list[str], resource_type: str, delivery_type: str
    ) -> Any:
        return cloudinary.api.delete_resources(
            public_ids,
            resource_type=resource_type,
            type=delivery_type,
            **self._options(),
        )

    def destroy(self, public_id: str, resource_type: str, delivery_type: str) -> Any:
        return cloudinary.uploader.destroy(
            public_id,
            resource_type=resource_type,
            type=delivery_type,
            **self._options(),
        )

    def resources(self, resource_type: str, delivery_type: str, **params: Any) -> Any:
        return cloudinary.api.resources(
            resource_type=resource_type, type=delivery_type, **params, **self._options()
        )

    def search(self, expression: str, **params: Any) -> Any:
        search = cloudinary.Search().expression(expression)
        for key, value in params.items():
            search = getattr(search, key)(
                *value if isinstance(value, tuple) else (value,)
            )
        return search.execute(**self._options())
