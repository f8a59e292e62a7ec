"""`mediasync worker`: a Celery worker on every mediasync queue (extra args go to Celery)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run a Celery worker (extra arguments are passed to `celery worker`)",
        description="Run a Celery worker consuming the mediasync queues. Any further "
        "arguments go to `celery worker` unchanged, e.g. `mediasync worker -c 4 "
        "--loglevel INFO` or `-Q mediasync.cleanup` to serve one flow. Scale by running "
        "more of them. Needs DATABASE_URL, REDIS_URL and CLOUDINARY_URL.",
    )
    parser.set_defaults(handler=run, passthrough=True)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    from mediasync.preflight import check_connections
    from workers.celery_app import ALL_QUEUES, app, get_settings

    # a bad environment stops here, with one line, not in a traceback
    settings = get_settings()
    check_connections(settings)  # Celery would retry an unreachable broker forever
    app.loader.import_default_modules()  # registers every flow's tasks (TASK_MODULES)
    from workers.logs import take_over_celery_logging

    take_over_celery_logging(settings)

    argv = ["worker", "--loglevel", settings.log_level]
    if not any(a in ("-Q", "--queues") or a.startswith("--queues=") for a in rest):
        argv += ["-Q", ",".join(ALL_QUEUES)]
    app.worker_main(argv + rest)
    return 0
