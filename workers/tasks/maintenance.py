"""Tasks that keep the system itself healthy."""

from __future__ import annotations

from workers.celery_app import app


@app.task(name="mediasync.maintenance.ping")
def ping() -> str:
    """A no-op round trip through the broker and a worker (health checks, the canary)."""
    return "pong"
