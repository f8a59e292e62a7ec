"""POST /webhooks/cloudinary: verify → store in the inbox → commit → wake a worker → 202.

No sync logic here: the worker decides what a notification means (even whether its type is
known). The order of checks is what the sender can act on: too big (413), not ours (401),
not a notification (400), not stored (503, so Cloudinary retries).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from webhook_receiver.inbox import BodyNotStorable, DatabaseUnavailable
from webhook_receiver.signature import SignatureError, verify
from webhook_receiver.state import receiver

logger = logging.getLogger(__name__)

bp = Blueprint("webhook", __name__)


@bp.post("/webhooks/cloudinary")
@bp.post("/api/cloudinary/webhook")
def receive() -> Response | tuple[Response, int]:
    state = receiver(current_app)
    raw = _read_body(current_app.config["MAX_CONTENT_LENGTH"])
    if raw is None:
        return _answer(413, "body over 1 MiB")
    settings = state.settings
    try:
        signed_at = verify(
            raw,
            request.headers.get("X-Cld-Timestamp"),
            request.headers.get("X-Cld-Signature"),
            secrets=settings.verification_secrets,
            now=time.time(),
            max_age_s=settings.webhook_max_age_s,
        )
    except SignatureError as exc:
        state.metrics.verification_failures.labels(exc.reason).inc()
        logger.info("refused a notification: %s", exc.reason)
        return _answer(401, "signature refused")
    parsed = _parse(raw)
    if parsed is None:
        return _answer(400, "not a JSON notification")
    text, notification_type = parsed
    digest = hashlib.sha256(raw).hexdigest()
    try:
        stored = state.inbox.record(
            digest=digest,
            notification_type=notification_type,
            body=text,
            signed_at=signed_at,
        )
    except BodyNotStorable as exc:
        logger.info("refused a notification Postgres cannot store: %s", exc)
        return _answer(400, "body cannot be stored as JSON")
    except DatabaseUnavailable as exc:
        logger.warning("database unavailable; answered 503 (%s)", exc)
        return _answer(503, "database unavailable")
    state.metrics.notifications.labels("new" if stored.new else "duplicate").inc()
    # a redelivery of a row already applied needs no worker; one still pending gets
    # another wake-up in case the first was lost
    if stored.status == "pending":
        state.waker.wake(stored.inbox_id)
    # DEBUG: the worker logs every notification it applies; this is the hot path
    logger.debug(
        "stored %s notification as inbox %s%s",
        notification_type,
        stored.inbox_id,
        "" if stored.new else " (redelivery)",
        extra={"inbox_id": stored.inbox_id, "digest": digest[:16]},
    )
    return _accepted(stored.inbox_id, not stored.new)


def _accepted(inbox_id: int, duplicate: bool) -> Response:
    # built by hand: jsonify's provider is a measurable share of this request's cost
    body = b'{"inbox_id":%d,"duplicate":%s}' % (
        inbox_id,
        b"true" if duplicate else b"false",
    )
    return Response(body, 202, mimetype="application/json")


def _read_body(limit: int) -> bytes | None:
    """The raw body, or None when it is over `limit` (checked before reading it all)."""
    length = request.content_length
    if length is not None:
        # cache=False: the bytes are only hashed and stored, never re-read by Flask
        return None if length > limit else request.get_data(cache=False)
    if not request.environ.get("wsgi.input_terminated"):
        return b""  # no length and no end marker: Werkzeug's safe empty fallback
    # Chunked (the server de-chunks and marks the end). Werkzeug's own max-length
    # guard truncates such a body silently at the limit; one byte more tells us.
    raw: bytes = request.input_stream.read(limit + 1)
    return None if len(raw) > limit else raw


def _parse(raw: bytes) -> tuple[str, str] | None:
    """The body as text and its notification_type, or None if it is not a notification."""
    try:
        text = raw.decode("utf-8")
        body: Any = _DECODER.decode(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict):
        return None
    notification_type = body.get("notification_type")
    if not isinstance(notification_type, str) or not notification_type:
        return None
    return text, notification_type


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


# NaN and Infinity are not JSON, and Postgres' jsonb refuses them. Built once: json.loads
# with keyword arguments builds a decoder per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _answer(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status
