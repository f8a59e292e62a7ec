"""`mediasync receiver`: the webhook receiver under gunicorn."""

from __future__ import annotations

import argparse
import os
from typing import Any

from workers.config import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "receiver",
        help="run the webhook receiver (gunicorn)",
        description="Serve POST /webhooks/cloudinary, /healthz, /readyz and /metrics, "
        "and the operator API under /api/ (its routes: GET /api/openapi.json; every "
        "request carries Authorization: Bearer $MEDIASYNC_API_TOKEN; off while that is "
        "unset) with gunicorn (gthread workers). Needs DATABASE_URL, REDIS_URL and "
        "CLOUDINARY_URL (its secret verifies notifications; MEDIASYNC_WEBHOOK_SECRETS "
        "adds more). Set PROMETHEUS_MULTIPROC_DIR to an empty directory to have /metrics "
        "add up every worker's counts.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, default=8000, help="port to bind")
    parser.add_argument(
        "--workers", type=int, default=None, help="processes (default: cores, min 2)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="threads per process (default 4)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    from mediasync.preflight import check_connections

    # a bad environment stops here, in the master, with one line
    settings = Settings.from_env(os.environ)
    # gunicorn would start anyway and answer 503s: a wrong DATABASE_URL stops the start.
    # Redis is not checked: the receiver stores notifications while the broker is down
    # (their wake-ups wait for the sweep), and a restart during that outage must serve.
    check_connections(settings, redis_too=False)
    from webhook_receiver.server import (
        DEFAULT_THREADS,
        ReceiverServer,
        default_workers,
        gunicorn_options,
    )

    options = gunicorn_options(
        host=args.host,
        port=args.port,
        workers=args.workers or default_workers(),
        threads=args.threads or DEFAULT_THREADS,
        log_level=settings.log_level,
    )
    ReceiverServer(settings, options).run()
    return 0
