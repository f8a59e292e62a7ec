"""The operator API's edge: bearer auth, JSON errors, parameter parsing, enqueue-after-commit.

Every /api/ answer is JSON. Bad parameters are 400 with what was wrong; when
MEDIASYNC_API_TOKEN is unset the whole operator API answers 404 (the webhook alias
POST /api/cloudinary/webhook has its own blueprint and keeps working).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
from collections.abc import Callable
from typing import Any, NoReturn

import redis
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from kombu.exceptions import KombuError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from webhook_receiver.operator_api.state import operator

logger = logging.getLogger(__name__)

WEBHOOK_ALIAS = "/api/cloudinary/webhook"
MAX_PAGE = 500
_DIGITS = re.compile(r"[0-9]{1,18}")
_CURSOR_PREFIX = "id:"


class ApiError(Exception):
    """An answer other than success: its status and a message safe to show the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def fail(status: int, message: str) -> NoReturn:
    raise ApiError(status, message)


def guarded(bp: Blueprint) -> Blueprint:
    """Put `bp` behind the bearer token, with JSON answers for its errors."""
    bp.before_request(_authorize)
    bp.register_error_handler(ApiError, _api_error)
    bp.register_error_handler(OperationalError, _database_unavailable)
    bp.register_error_handler(DataError, _value_refused)
    bp.register_error_handler(DBAPIError, _database_error)
    return bp


def install_error_pages(app: Flask) -> None:
    """JSON (not Werkzeug's HTML) for routing errors under /api/: 404, 405, 413…"""
    app.register_error_handler(HTTPException, _http_error)


def _authorize() -> None:
    token = operator(current_app).settings.api_token
    if token is None:
        fail(404, "not found (the operator API is off: MEDIASYNC_API_TOKEN is unset)")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # compare_digest on bytes: constant time even for non-ASCII input
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        fail(401, "missing or wrong bearer token")


def _api_error(exc: ApiError) -> tuple[Response, int]:
    answer = jsonify(error=exc.message)
    if exc.status == 401:
        answer.headers["WWW-Authenticate"] = 'Bearer realm="mediasync"'
    return answer, exc.status


def _database_unavailable(exc: OperationalError) -> tuple[Response, int]:
    logger.warning("operator API: database unavailable (%s)", type(exc.orig).__name__)
    return jsonify(error="database unavailable"), 503


def _value_refused(exc: DataError) -> tuple[Response, int]:
    # a NUL byte in a string, an id past bigint: what the caller sent, not our failure
    logger.info("operator API: a value was refused: %s", type(exc.orig).__name__)
    return jsonify(error="a parameter's value cannot be stored or compared"), 400


def _database_error(exc: DBAPIError) -> tuple[Response, int]:
    # parameters are checked before any query; reaching here is our bug, said plainly
    logger.error("operator API: query failed: %s", type(exc.orig).__name__)
    return jsonify(error="the database refused the query"), 500


def _http_error(exc: HTTPException) -> HTTPException | tuple[Response, int]:
    path = request.path
    if not path.startswith("/api/"):
        return exc
    if path != WEBHOOK_ALIAS and operator(current_app).settings.api_token is None:
        return jsonify(error="not found"), 404
    return jsonify(error=exc.description or exc.name), exc.code or 500


# -- parameters --------------------------------------------------------------------------


def limit_arg(default: int = 50, maximum: int = MAX_PAGE) -> int:
    raw = request.args.get("limit")
    if raw is None or raw == "":
        return default
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= maximum:
        fail(400, f"limit must be a whole number from 1 to {maximum}")
    return int(raw)


def choice_arg(name: str, choices: tuple[str, ...], default: str) -> str:
    value = request.args.get(name) or default
    if value not in choices:
        fail(400, f"{name} must be one of {', '.join(choices)}")
    return value


def encode_cursor(last_id: int | None) -> str | None:
    if last_id is None:
        return None
    raw = f"{_CURSOR_PREFIX}{last_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_arg() -> int | None:
    """The id a page continues after, from the opaque `cursor` of the previous answer."""
    raw = request.args.get("cursor")
    if not raw:
        return None
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, ValueError):
        fail(400, "cursor is not one this API gave out")
    value = decoded.removeprefix(_CURSOR_PREFIX)
    if value == decoded or not _DIGITS.fullmatch(value):
        fail(400, "cursor is not one this API gave out")
    return int(value)


def json_body(*, required: bool = False) -> dict[str, Any]:
    """The request's JSON object; {} for an empty body unless `required`."""
    if not request.get_data(cache=True):
        if required:
            fail(400, "expected a JSON object body")
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        fail(400, "the body must be a JSON object")
    return body


def flag(body: dict[str, Any], name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        fail(400, f"{name} must be true or false")
    return value


def text_field(
    body: dict[str, Any], name: str, default: str | None = None
) -> str | None:
    value = body.get(name, default)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        fail(400, f"{name} must be a non-empty string")
    return value


def requester() -> str:
    """Who to record as the actor: the token is shared, so the address is what we have."""
    return f"operator-api:{request.remote_addr or 'unknown'}"


# -- after the commit --------------------------------------------------------------------


def enqueue(what: str, send: Callable[[], None]) -> bool:
    """Send a wake-up after the commit. A broker outage is not the caller's failure: the
    rows are committed and the beat sweep finds them, so report it and answer anyway."""
    try:
        send()
    except (KombuError, redis.RedisError, OSError) as exc:
        logger.warning("operator API: could not enqueue %s (%s)", what, exc)
        return False
    return True
