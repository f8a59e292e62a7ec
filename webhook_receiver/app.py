"""create_app(settings=None) -> Flask: the webhook receiver (see docs/architecture.md)."""

from __future__ import annotations

import os

from flask import Flask

from webhook_receiver import console, health, views
from webhook_receiver.inbox_writer import InboxWriter
from webhook_receiver.metrics import ReceiverMetrics
from webhook_receiver.operator_api import views as operator_api
from webhook_receiver.operator_api.state import Operator
from webhook_receiver.state import EXTENSION, Receiver
from webhook_receiver.sync_gauges import SyncGauges
from webhook_receiver.wakeup import Waker
from workers.celery_app import configure
from workers.config import Settings

# Cloudinary notifications are a few kB; anything near this is not one.
MAX_BODY_BYTES = 1024 * 1024


def create_app(settings: Settings | None = None) -> Flask:
    if settings is None:
        settings = Settings.from_env(os.environ)
    # the Celery app carries the wake-ups: point it at this broker before the first one
    configure(settings)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    metrics = ReceiverMetrics(settings.prometheus_multiproc_dir)
    # the operator API (off without MEDIASYNC_API_TOKEN) and the sync gauges (always on)
    ops = Operator(settings)
    metrics.register(SyncGauges(ops.sessions, ops.governor))
    state = Receiver(
        settings=settings,
        inbox=InboxWriter(settings.database_url),
        waker=Waker(settings.broker_url, on_failure=metrics.enqueue_failures.inc),
        metrics=metrics,
        closers=[ops.close],
    )
    app.extensions[EXTENSION] = state
    app.register_blueprint(views.bp)
    app.register_blueprint(health.bp)
    operator_api.install(app, ops)
    app.register_blueprint(console.bp)  # /console/ (off without an operator token)
    # Flask's documented middleware pattern; mypy sees a method being replaced
    app.wsgi_app = state.metrics.middleware(app.wsgi_app)  # type: ignore[assignment,method-assign]
    return app
