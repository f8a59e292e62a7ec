"""`mediasync listener`: LISTEN for row deletes and enqueue cleanup drains."""

from __future__ import annotations

import argparse
import os
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "listener",
        help="wake cleanup workers when rows are deleted (LISTEN mediasync_cleanup)",
        description="Hold a PostgreSQL connection that LISTENs on mediasync_cleanup and "
        "turn each burst of deleted rows into a few cleanup drain tasks. Catches up on "
        "start and after every reconnect; writes a heartbeat every few seconds (see "
        "`mediasync cleanup status`). Any number may run. Stops on SIGTERM. Needs "
        "DATABASE_URL and REDIS_URL.",
    )
    parser.add_argument(
        "--name", default=None, help="this listener's heartbeat name (default host:pid)"
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=4,
        help="at most this many drain tasks per burst, for that many workers (default 4)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    from mediasync.preflight import check_connections
    from workers.celery_app import configure
    from workers.cleanup import listener
    from workers.config import Settings
    from workers.logs import configure_logging

    # The listener never calls Cloudinary: it needs no CLOUDINARY_URL.
    settings = Settings.from_env(os.environ, required=("DATABASE_URL", "REDIS_URL"))
    configure_logging(settings)
    # an unreachable database or Redis: one line and exit 1 now, not reconnect warnings
    check_connections(settings)
    configure(settings)
    from workers.cleanup.tasks import enqueue_drains

    return listener.main(
        settings.database_url, enqueue_drains, name=args.name, parallel=args.parallel
    )
