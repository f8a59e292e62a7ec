"""Signing notifications the way Cloudinary does, and a receiver app for tests."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from flask import Flask

from db.urls import libpq_url
from webhook_receiver import create_app
from webhook_receiver.signature import sign
from webhook_receiver.state import receiver
from workers.celery_app import forget_broker_connections
from workers.config import CloudinaryAccount, Settings

SECRET = "test-webhook-secret"
WEBHOOK = "/webhooks/cloudinary"


def encode(body: dict[str, Any] | bytes) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def signed(
    body: dict[str, Any] | bytes,
    *,
    timestamp: int | str | None = None,
    secret: str = SECRET,
    algorithm: str = "sha1",
) -> tuple[bytes, dict[str, str]]:
    """The raw body and the headers Cloudinary would send with it."""
    raw = encode(body)
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return raw, {
        "Content-Type": "application/json",
        "X-Cld-Timestamp": stamp,
        "X-Cld-Signature": sign(raw, stamp, secret, algorithm),
    }


def with_account(settings: Settings, secret: str = SECRET) -> Settings:
    return dataclasses.replace(
        settings, cloudinary=CloudinaryAccount("demo", "test-key", secret)
    )


@contextmanager
def receiver_app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    try:
        yield app
    finally:
        receiver(app).close()


def forget_stale_broker_pools() -> None:
    """Drop broker pools a stopped test worker closed, so the next publish from the test
    process (sweep_inbox(), wake()) connects afresh."""
    forget_broker_connections()


def inbox_bodies(database_url: str) -> dict[str, str]:
    """digest -> the stored body as jsonb prints it (what a worker reads back)."""
    with psycopg.connect(libpq_url(database_url), connect_timeout=10) as conn:
        rows = conn.execute("SELECT digest, body::text FROM webhook_inbox").fetchall()
    return {str(digest): str(body) for digest, body in rows}


def as_floats(value: Any) -> Any:
    """Every number as a float: jsonb prints an exponent that makes a whole number as an
    int (1.5e3 is 1500), so a stored body and the one sent compare equal this way."""
    if isinstance(value, dict):
        return {key: as_floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_floats(item) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value
