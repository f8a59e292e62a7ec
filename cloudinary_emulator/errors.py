"""The one exception handlers raise to answer with Cloudinary's error shape."""

from __future__ import annotations


class ApiError(Exception):
    """An error answer: `{"error": {"message": ...}}` with this HTTP status.

    The SDK treats any non-2xx answer without an "error" key as success, so every
    failure path must end here rather than in a bare status code.
    """

    def __init__(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def not_found(public_id: str) -> ApiError:
    return ApiError(404, f"Resource not found - {public_id}")


def bad_param(name: str, value: object) -> ApiError:
    return ApiError(400, f"Invalid value {value} for parameter {name}")
