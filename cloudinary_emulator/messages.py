"""Transport-free request and response objects passed between the server and handlers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.forms import Form, Params, parse_form


@dataclass
class Request:
    method: str
    path: str  # still percent-encoded; handlers decode the pieces they use
    query: Params
    headers: Mapping[str, str]  # names lowercased
    body: bytes
    request_id: str

    def json(self) -> dict[str, Any]:
        """The JSON object body. The SDK sends nulls for unset options; they are dropped."""
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            raise ApiError(400, "Invalid JSON in request body") from None
        if not isinstance(data, dict):
            raise ApiError(400, "Request body must be a JSON object")
        return {k: v for k, v in data.items() if v is not None}

    def form(self) -> Form:
        return parse_form(self.headers.get("content-type", ""), self.body)


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering (fault injection)


def ok(body: Any, status: int = 200) -> Response:
    return Response(status=status, body=body)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status=status, body={"error": {"message": message}}, headers=headers or {}
    )
