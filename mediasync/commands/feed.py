"""`mediasync feed`: the live change feed, GET /api/changes as Server-Sent Events."""

from __future__ import annotations

import argparse
import os
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "feed",
        help="serve the live change feed of media_assets (GET /api/changes, SSE)",
        description="Stream every change of media_assets (created, updated with the "
        "changed fields, deleted, restored) as Server-Sent Events on GET /api/changes, "
        "resumable with Last-Event-ID; filters public_id (a prefix), folder and "
        "resource_type. Every request carries Authorization: Bearer with "
        "$MEDIASYNC_FEED_TOKEN (read-only) or $MEDIASYNC_API_TOKEN, or ?access_token= "
        "(EventSource cannot set headers); with neither set the feed answers 404. One "
        "database connection serves every subscriber. Also GET /healthz and /readyz. "
        "Its own process, apart from the receiver: streams must not hold the threads "
        "webhooks need. Needs DATABASE_URL. Stops on SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, default=8001, help="port to bind")
    parser.add_argument(
        "--max-clients",
        type=int,
        default=1000,
        help="subscribers served at once; more are answered 503 (default 1000)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    from mediasync.preflight import check_database
    from webhook_receiver.change_feed import server
    from workers.config import Settings
    from workers.logs import configure_logging

    settings = Settings.from_env(os.environ, required=("DATABASE_URL",))
    configure_logging(settings)
    # a wrong DATABASE_URL: one line and exit 1 now, not reconnect warnings forever
    check_database(settings.database_url)
    return server.main(settings, args.host, args.port, max_clients=args.max_clients)
