"""`mediasync beat`: the periodic scheduler; run one or more, exactly one fires."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "beat",
        help="run the periodic scheduler (replicas stand by; exactly one fires)",
        description="Run Celery beat with the mediasync schedule (sweeps, reconciliation, "
        "retention, canary). Any number may run: a PostgreSQL advisory lock elects one "
        "leader, the others stand by and take over within seconds if it dies. Intervals: "
        "MEDIASYNC_INBOX_SWEEP_INTERVAL, MEDIASYNC_SWEEP_INTERVAL (the cleanup sweep), "
        "MEDIASYNC_CANARY_INTERVAL, MEDIASYNC_RECONCILE_INTERVAL, "
        "MEDIASYNC_FULL_RECONCILE_INTERVAL, MEDIASYNC_RETENTION_INTERVAL (seconds).",
    )
    parser.add_argument(
        "--name", default=None, help="this replica's name in logs (default host:pid)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    from mediasync.preflight import check_connections
    from workers.beat.leader import run_beat
    from workers.beat.schedule import beat_schedule
    from workers.celery_app import app, get_settings, worker_name
    from workers.logs import configure_logging

    settings = get_settings()
    check_connections(settings)  # Celery would retry an unreachable broker forever
    configure_logging(settings)
    app.loader.import_default_modules()  # registers every flow's tasks (TASK_MODULES)

    app.conf.beat_schedule = beat_schedule(settings)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    run_beat(app, settings.database_url, args.name or worker_name(), stop)
    return 0
