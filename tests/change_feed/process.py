"""`mediasync feed` as its own process, the way it is deployed, for the tests that need
the real command (one LISTEN connection, memory of a stalled client, the console's page)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

from tests.waiting import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running_feed(
    database_url: str, **settings: str
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The process and its port, once /readyz answers; SIGTERM and its exit status after.
    Only `settings` (and DATABASE_URL) reach it of mediasync's environment."""
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("MEDIASYNC_", "REDIS"))
    }
    env.update(DATABASE_URL=database_url, **settings)
    process = subprocess.Popen(
        [sys.executable, "-m", "mediasync", "feed", "--port", str(port)], env=env
    )

    def ready() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
                return sock.recv(100).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    try:
        wait_until(ready, timeout=30, what="mediasync feed to be ready")
        yield process, port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)
