"""GET /healthz (the process runs), /readyz (database and broker answer), /metrics."""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, Response, current_app, jsonify
from kombu.exceptions import KombuError

from webhook_receiver.inbox_writer import DatabaseUnavailable
from webhook_receiver.state import receiver

logger = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    return jsonify(status="ok"), 200


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    state = receiver(current_app)
    checks = {"database": "ok", "broker": "ok"}
    try:
        state.inbox.ping()
    except DatabaseUnavailable:
        checks["database"] = "unavailable"
    try:
        state.waker.ping()
    except (redis.RedisError, KombuError, OSError):
        checks["broker"] = "unavailable"
    failed = sorted(name for name, result in checks.items() if result != "ok")
    if failed:
        logger.warning("not ready: %s unavailable", ", ".join(failed))
        return jsonify(status="unavailable", failed=failed, checks=checks), 503
    return jsonify(status="ok", checks=checks), 200


@bp.get("/metrics")
def metrics() -> Response:
    body = receiver(current_app).metrics.exposition()
    return Response(body, mimetype="text/plain; version=0.0.4; charset=utf-8")
