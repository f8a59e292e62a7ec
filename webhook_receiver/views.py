"""POST /webhooks/cloudinary: verify → store in the inbox → commit → wake a worker → 202.

No sync logic here: the worker decides what a notification means (even whether its type is
known). The order of checks is what the sender can act on: too big (413), not framed as
HTTP says (400), not ours (401), not a notification we can store and read back (400), not
stored (503, so Cloudinary retries). Nothing else is a 5xx.

Content-Type is not checked: it is not signed, so it proves nothing about a body the
signature already vouches for, and the body is parsed as JSON whatever it says.
"""

from __future__ import annotations

import hashlib
import logging
import time

from flask import Blueprint, Response, current_app, jsonify, request

from webhook_receiver.body_check import BodyRefused, parse_notification
from webhook_receiver.framing import BodyTooLarge, MalformedBody, read_body
from webhook_receiver.inbox_writer import BodyNotStorable, DatabaseUnavailable
from webhook_receiver.signature import SignatureError, verify
from webhook_receiver.state import receiver

logger = logging.getLogger(__name__)

bp = Blueprint("webhook", __name__)


@bp.post("/webhooks/cloudinary")
@bp.post("/api/cloudinary/webhook")
def receive() -> Response | tuple[Response, int]:
    state = receiver(current_app)
    try:
        raw = read_body(request, current_app.config["MAX_CONTENT_LENGTH"])
    except BodyTooLarge:
        return _answer(413, "body over 1 MiB")
    except MalformedBody as exc:
        return _answer(400, str(exc))
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
    try:
        notification = parse_notification(raw)
    except BodyRefused as exc:
        return _answer(400, f"not a notification we can store: {exc}")
    text, notification_type = notification.text, notification.notification_type
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


def _answer(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status
