"""The unauthenticated test-control API under /_emulator/: reset, seed, inspect, faults,
rate limit, notification settings, the delivery log and the CDN invalidations asked for."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.faults import ENDPOINTS, Fault
from cloudinary_emulator.forms import parse_bool, parse_tags
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.render import admin_detail
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Asset, random_hex
from cloudinary_emulator.timefmt import iso_seconds

MAX_SEED = 1_000_000
MAX_WAIT_S = 300.0
_SEED_ETAG = hashlib.md5(b"", usedforsecurity=False).hexdigest()

Handler = Callable[[State, Request], Response]


def handle(state: State, req: Request, segments: list[str]) -> Response:
    if segments[:1] == ["assets"] and len(segments) >= 4 and req.method == "GET":
        return _one_asset(state, segments[1], segments[2], "/".join(segments[3:]))
    handler = _ROUTES.get((req.method, "/".join(segments)))
    if handler is None:
        raise ApiError(
            404,
            f"Unknown control endpoint {req.method} /_emulator/{'/'.join(segments)}",
        )
    return handler(state, req)


def _int(params: dict[str, Any], name: str, default: int | None) -> int | None:
    value = params.get(name, default)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"{name} must be an integer") from None


def reset(state: State, req: Request) -> Response:
    state.reset()
    return ok({"status": "ok"})


def seed(state: State, req: Request) -> Response:
    """Insert N minimal assets at once: no notifications, one sort per index."""
    params = req.json()
    count = _int(params, "count", 0) or 0
    start = _int(params, "start_index", 0) or 0
    if not 0 <= count <= MAX_SEED or start < 0:
        raise ApiError(400, f"count must be between 0 and {MAX_SEED}, start_index >= 0")
    prefix = str(params.get("prefix", "seed/"))
    resource_type = str(params.get("resource_type", "image"))
    dtype = str(params.get("type", "upload"))
    tags = parse_tags(params.get("tags") or [])
    now = int(time.time())
    width = max(6, len(str(start + count)))
    ids = random_hex(2 * count)
    fmt, size = ("jpg", 100) if resource_type == "image" else ("", None)
    assets = []
    for n in range(count):
        public_id = f"{prefix}{start + n:0{width}d}"
        folder, _, name = public_id.rpartition("/")
        assets.append(
            Asset(
                asset_id=ids[2 * n],
                resource_type=resource_type,
                type=dtype,
                public_id=public_id,
                version=now,
                version_id=ids[2 * n + 1],
                format=fmt,
                bytes=0,
                width=size,
                height=size,
                etag=_SEED_ETAG,
                created_at=now,
                uploaded_at=now,
                updated_at=now,
                asset_folder=folder,
                display_name=name,
                original_filename=name,
                tags=list(tags),
            )
        )
    added = state.store.seed(assets)
    return ok({"seeded": added, "total": len(state.store)})


def _describe(state: State, asset: Asset) -> dict[str, Any]:
    body = admin_detail(asset, state.account.cloud_name)
    body.update(
        uploaded_at=iso_seconds(asset.uploaded_at),
        updated_at=asset.updated_at,
        source_url=asset.source_url,
    )
    return body


def assets(state: State, req: Request) -> Response:
    query = req.query
    wanted = {
        k: str(query[k]) for k in ("public_id", "resource_type", "type") if k in query
    }
    with state.store.lock:
        found = [
            a
            for a in state.store.snapshot()
            if all(getattr(a, k) == v for k, v in wanted.items())
        ]
        if parse_bool(query.get("count_only"), False):
            return ok({"count": len(found)})
        found.sort(key=lambda a: a.key)
        return ok([_describe(state, a) for a in found])


def _one_asset(
    state: State, resource_type: str, dtype: str, public_id: str
) -> Response:
    with state.store.lock:
        asset = state.store.get(
            unquote(resource_type), unquote(dtype), unquote(public_id)
        )
        if asset is None:
            raise ApiError(404, f"Resource not found - {unquote(public_id)}")
        return ok(_describe(state, asset))


def counters(state: State, req: Request) -> Response:
    return ok(state.counters.snapshot())


def reset_counters(state: State, req: Request) -> Response:
    state.counters.reset()
    return ok(state.counters.snapshot())


def add_fault(state: State, req: Request) -> Response:
    params = req.json()
    endpoint = str(params.get("endpoint", ""))
    headers = params.get("headers") or {}
    if not isinstance(headers, dict):
        raise ApiError(400, "headers must be an object")
    fault = Fault(
        status=_int(params, "status", None),
        count=_int(params, "count", 1) or 0,
        latency_ms=_int(params, "latency_ms", 0) or 0,
        drop=parse_bool(params.get("drop"), False),
        message=str(params["message"]) if params.get("message") else None,
        headers={str(k): str(v) for k, v in headers.items()},
    )
    if fault.status is None and not fault.drop and fault.latency_ms <= 0:
        raise ApiError(400, "a fault needs a status, latency_ms or drop")
    try:
        state.faults.add(endpoint, fault)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return ok({"faults": state.faults.pending(), "endpoints": list(ENDPOINTS)})


def list_faults(state: State, req: Request) -> Response:
    return ok({"faults": state.faults.pending(), "endpoints": list(ENDPOINTS)})


def clear_faults(state: State, req: Request) -> Response:
    state.faults.clear()
    return ok({"faults": {}})


def rate_limit(state: State, req: Request) -> Response:
    if req.method == "POST":
        params = req.json()
        reset_in = params.get("reset_in")
        try:
            state.limiter.configure(
                limit=_int(params, "limit", int(state.limiter.state()["limit"])) or 0,
                remaining=_int(params, "remaining", None),
                reset_in=float(reset_in) if reset_in is not None else None,
            )
        except (TypeError, ValueError) as exc:
            raise ApiError(400, str(exc)) from None
    return ok(state.limiter.state())


def notifications(state: State, req: Request) -> Response:
    outbox = state.outbox
    if req.method == "POST":
        params = req.json()
        delay = params.get("base_delay")
        outbox.configure(
            enabled=parse_bool(params.get("enabled"), True),
            url=str(params["url"]) if "url" in params else None,
            attempts=_int(params, "attempts", None),
            base_delay=float(delay) if delay is not None else None,
        )
    return ok(
        {
            "enabled": outbox.enabled,
            "url": outbox.default_url,
            "attempts": outbox.attempts,
            "base_delay": outbox.base_delay,
        }
    )


def deliveries(state: State, req: Request) -> Response:
    return ok(state.outbox.log())


def wait_deliveries(state: State, req: Request) -> Response:
    """Block until the delivery queue is drained (or timeout); {"idle": bool}."""
    params = req.json() if req.method == "POST" else dict(req.query)
    try:
        timeout = min(float(str(params.get("timeout", 10))), MAX_WAIT_S)
    except ValueError:
        raise ApiError(400, "timeout must be a number") from None
    return ok({"idle": state.outbox.wait_idle(timeout)})


def captured(state: State, req: Request) -> Response:
    return ok(state.outbox.captured())


def invalidations(state: State, req: Request) -> Response:
    return ok(state.invalidations.log())


_ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "reset"): reset,
    ("POST", "seed"): seed,
    ("GET", "assets"): assets,
    ("GET", "counters"): counters,
    ("POST", "counters/reset"): reset_counters,
    ("GET", "faults"): list_faults,
    ("POST", "faults"): add_fault,
    ("DELETE", "faults"): clear_faults,
    ("GET", "rate-limit"): rate_limit,
    ("POST", "rate-limit"): rate_limit,
    ("GET", "notifications"): notifications,
    ("POST", "notifications"): notifications,
    ("GET", "deliveries"): deliveries,
    ("GET", "notifications/captured"): captured,
    ("GET", "deliveries/wait"): wait_deliveries,
    ("POST", "deliveries/wait"): wait_deliveries,
    ("GET", "invalidations"): invalidations,
}
