"""The receiver served over real HTTP on loopback: gunicorn as `mediasync receiver` runs it,
and Werkzeug's development server (the two read request bodies differently)."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

from mediasync.embedded import free_port
from tests.pg import create_database, drop_database
from tests.waiting import wait_until
from tests.webhook_receiver.helpers import SECRET, receiver_app, with_account
from workers.config import Settings

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def gunicorn_receiver(
    settings: Settings,
    log: Path,
    *,
    workers: int = 2,
    threads: int = 2,
    **extra_env: str,
) -> Iterator[int]:
    """`mediasync receiver` in a subprocess; yields its port once /healthz answers."""
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "CLOUDINARY_URL": f"cloudinary://key:{SECRET}@demo",
        "MEDIASYNC_LOG_FORMAT": "json",
        "MEDIASYNC_LOG_LEVEL": "DEBUG",
        **extra_env,
    }
    command = [sys.executable, "-m", "mediasync", "receiver", "--port", str(port)]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*command, "--workers", str(workers), "--threads", str(threads)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        )

    def healthy() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return request(port, "GET", "/healthz")[0] == 200
        except OSError:
            return False

    try:
        wait_until(healthy, timeout=60, what="gunicorn to serve /healthz")
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


@contextmanager
def werkzeug_receiver(settings: Settings) -> Iterator[int]:
    """The app under Werkzeug's threaded development server, in this process."""
    with receiver_app(with_account(settings)) as app:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.server_port
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)


def request(
    port: int,
    method: str,
    path: str,
    body: object = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})  # type: ignore[arg-type]
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


@contextmanager
def own_database(pg_server_url: str, template_db: str) -> Iterator[str]:
    """A migrated database for a module's server (one start serves many tests)."""
    name = f"mediasync_rx_{uuid.uuid4().hex[:12]}"
    url = create_database(pg_server_url, name, template=template_db)
    try:
        yield url
    finally:
        drop_database(pg_server_url, name)


@contextmanager
def served(
    kind: str, settings: Settings, log: Path, *, workers: int = 2, threads: int = 2
) -> Iterator[int]:
    """The port of a receiver of `kind` ("gunicorn" or "werkzeug") on `settings`."""
    if kind == "gunicorn":
        with gunicorn_receiver(settings, log, workers=workers, threads=threads) as port:
            yield port
    else:
        with werkzeug_receiver(settings) as port:
            yield port
