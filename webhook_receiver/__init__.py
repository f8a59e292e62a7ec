"""The HTTP edge: verify Cloudinary's notifications, persist them, wake a worker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from webhook_receiver.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # imported on first use, so that `mediasync feed` (webhook_receiver.change_feed, an
    # asyncio process) loads neither Flask nor Celery
    if name == "create_app":
        from webhook_receiver.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
