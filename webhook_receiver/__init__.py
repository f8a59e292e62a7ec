"""The HTTP edge: verify Cloudinary's notifications, persist them, wake a worker."""

from webhook_receiver.app import create_app

__all__ = ["create_app"]
