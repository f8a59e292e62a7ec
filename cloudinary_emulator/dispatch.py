"""Routes a request to its handler and applies what every call shares: counters,
injected faults, Admin Basic auth and the rate limit, and the JSON error shape."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import time
from collections.abc import Callable
from urllib.parse import unquote

from cloudinary_emulator import (
    account,
    admin,
    control,
    derived,
    folders,
    metadata_fields,
    metadata_rules,
    presets,
    publish,
    related,
    restore,
    transformations,
    triggers,
    upload,
)
from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.faults import Fault
from cloudinary_emulator.messages import Request, Response, error
from cloudinary_emulator.state import State

logger = logging.getLogger(__name__)

_FAULT_MESSAGES = {
    420: "Rate Limit Exceeded",
    429: "Rate Limit Exceeded",
    500: "General Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


# Each Admin API area routes its own paths: (method, segments) -> (name, handler) | None.
# restore.route goes before admin.route: `.../<type>/restore` is not a public_id.
ADMIN_ROUTES = (
    restore.route,
    admin.route,
    triggers.route,
    metadata_fields.route,
    metadata_rules.route,
    transformations.route,
    folders.route,
    account.route,
    presets.route,
    derived.route,
    related.route,
    publish.route,
)


class App:
    def __init__(self, state: State) -> None:
        self.state = state

    def handle(self, req: Request) -> Response:
        try:
            response = self._dispatch(req)
        except ApiError as exc:
            response = error(exc.status, exc.message, dict(exc.headers))
        except Exception:
            logger.exception("unhandled error for %s %s", req.method, req.path)
            response = error(500, "General Error")
        response.headers.setdefault("X-Request-Id", req.request_id)
        return response

    def _dispatch(self, req: Request) -> Response:
        segments = [s for s in req.path.split("/") if s]
        if segments[:1] == ["_emulator"]:
            return control.handle(self.state, req, segments[1:])
        if len(segments) < 2 or segments[0] != "v1_1":
            raise ApiError(404, f"Unsupported path {req.path}")
        cloud, rest = unquote(segments[1]), segments[2:]
        is_admin = True
        found = next(
            (hit for route in ADMIN_ROUTES if (hit := route(req.method, rest))), None
        )
        if found is not None:
            name, handler = found
        else:
            upload_route = upload.route(req.method, rest)
            if upload_route is None:
                raise ApiError(404, f"Unsupported endpoint {req.method} {req.path}")
            name, upload_handler, resource_type = upload_route
            handler = _bind(upload_handler, resource_type)
            is_admin = False
        state = self.state
        state.counters.hit(name)
        fault = state.faults.take(name)
        if fault is not None and (injected := _inject(fault)) is not None:
            if is_admin:
                injected.headers = {**state.limiter.headers(), **injected.headers}
            return injected
        if cloud != state.account.cloud_name:
            raise ApiError(401, f"Invalid cloud_name {cloud}")
        if not is_admin:
            return handler(state, req)
        if not self._authorized(req):
            return error(401, "Invalid credentials", state.limiter.headers())
        allowed, rate_headers = state.limiter.take()
        if not allowed:
            return error(420, "Rate Limit Exceeded", rate_headers)
        try:
            response = handler(state, req)
        except ApiError as exc:
            response = error(exc.status, exc.message, dict(exc.headers))
        response.headers.update(rate_headers)
        return response

    def _authorized(self, req: Request) -> bool:
        scheme, _, encoded = req.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            key, _, secret = (
                base64.b64decode(encoded, validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            return False
        account = self.state.account
        # Compare both halves every time so a wrong key costs the same as a wrong secret.
        key_ok = hmac.compare_digest(key.encode(), account.api_key.encode())
        secret_ok = hmac.compare_digest(secret.encode(), account.api_secret.encode())
        return key_ok and secret_ok


def _bind(
    handler: Callable[[State, Request, str], Response], resource_type: str
) -> Callable[[State, Request], Response]:
    return lambda state, req: handler(state, req, resource_type)


def _inject(fault: Fault) -> Response | None:
    """Apply a fault: sleep, then drop or answer with an error; None lets the call through."""
    if fault.latency_ms > 0:
        time.sleep(fault.latency_ms / 1000)
    if fault.drop:
        return Response(drop=True)
    if fault.status is None:
        return None
    message = fault.message or _FAULT_MESSAGES.get(fault.status, "Injected fault")
    return error(fault.status, message, dict(fault.headers))
