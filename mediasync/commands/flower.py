"""`mediasync flower`: Flower, the Celery dashboard, with task events and basic auth."""

from __future__ import annotations

import argparse
import sys
from typing import Any

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "flower",
        help="run Flower (Celery dashboard) with basic auth from FLOWER_BASIC_AUTH",
        description="Run Flower against the mediasync broker. Credentials come from "
        "FLOWER_BASIC_AUTH=user:password; without them Flower only listens on 127.0.0.1. "
        "Note: Flower serves /metrics and /healthcheck without auth by design; restrict "
        "them at the network level. Further arguments go to Flower.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=5555, help="port (default 5555)")
    parser.set_defaults(handler=run, passthrough=True)


def flower_argv(host: str, port: int, basic_auth: str | None) -> list[str]:
    """Flower's command line; refuses an unauthenticated dashboard beyond loopback."""
    if basic_auth is None and host not in LOOPBACK:
        raise PermissionError(
            f"refusing to serve Flower on {host} without FLOWER_BASIC_AUTH=user:password"
        )
    argv = ["flower", f"--address={host}", f"--port={port}"]
    if basic_auth:
        argv.append(f"--basic-auth={basic_auth}")
    return argv


def run(args: argparse.Namespace, rest: list[str]) -> int:
    from mediasync.preflight import check_connections
    from workers.celery_app import app, get_settings

    settings = get_settings()
    check_connections(settings)  # Flower would retry an unreachable broker forever
    try:
        argv = flower_argv(args.host, args.port, settings.flower_basic_auth)
    except PermissionError as exc:
        print(f"mediasync flower: {exc}", file=sys.stderr)
        return 2
    app.start(argv=argv + rest)
    return 0
