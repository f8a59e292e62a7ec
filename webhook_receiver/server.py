"""The receiver under gunicorn, in-process (what `mediasync receiver` runs).

gthread workers: each process serves a few requests at once while they wait on the
commit, and one process per core keeps Python's GIL from being the ceiling. The numbers
come from bench/receiver.py on a 2-core machine; scale by replicas, not by more threads.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from prometheus_client import multiprocess

from webhook_receiver.app import create_app
from webhook_receiver.state import receiver
from workers.config import Settings
from workers.logs import configure_logging

DEFAULT_THREADS = 4


def default_workers() -> int:
    return max(2, os.cpu_count() or 1)


def gunicorn_options(
    *, host: str, port: int, workers: int, threads: int, log_level: str = "info"
) -> dict[str, Any]:
    """The shipped gunicorn settings (the benchmark runs its baselines under these too)."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        # Cloudinary waits for the answer; a request stuck this long is a bug, not load
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": log_level.lower(),
        "proc_name": "mediasync-receiver",
    }


class ReceiverServer(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        self.cfg.set("worker_exit", _close_app)
        if self.settings.prometheus_multiproc_dir:
            path = self.settings.prometheus_multiproc_dir

            def child_exit(_server: Any, worker: Any) -> None:
                # prometheus_client leaves this one unannotated
                multiprocess.mark_process_dead(worker.pid, path)  # type: ignore[no-untyped-call]

            self.cfg.set("child_exit", child_exit)

    def load(self) -> Flask:
        # runs in each worker after the fork: connections are never shared across processes
        configure_logging(self.settings)
        return create_app(self.settings)


def _close_app(_server: Any, worker: Any) -> None:
    # a worker leaving (restart, scale-down) sends the wake-up it still owes, if it can
    app = getattr(worker, "wsgi", None)
    if isinstance(app, Flask):
        receiver(app).close()
