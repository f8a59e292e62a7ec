"""A whole healthy stack for `mediasync doctor`: the test's database and Redis, the emulator,
a Celery worker (the `celery_worker` fixture), a cleanup listener thread, `mediasync beat`
in a subprocess and the receiver on loopback; `env` is what the doctor reads."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

from cloudinary_emulator import Emulator
from tests.webhook_receiver.helpers import receiver_app
from workers.cleanup.listener import Listener
from workers.cloudinary_client import CloudinaryClient
from workers.config import CloudinaryAccount, Settings

ROOT = Path(__file__).resolve().parents[2]


def environment(settings: Settings, cloud: Emulator, public_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "CLOUDINARY_URL": cloud.cloudinary_url,
        "MEDIASYNC_PUBLIC_URL": public_url,
    }


def forget_triggers(account: CloudinaryAccount) -> None:
    """The emulator's trigger list outlives its reset: start each test without any."""
    client = CloudinaryClient(account, timeout=10)
    for trigger in client.triggers():
        client.delete_trigger(trigger["id"])


@contextmanager
def served_receiver(settings: Settings) -> Iterator[str]:
    """The receiver app on loopback (Werkzeug, threaded); yields its base URL."""
    with receiver_app(settings) as app:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)


class ListenerThread:
    def __init__(self, database_url: str) -> None:
        self.listener = Listener(
            database_url, lambda _n: None, heartbeat_s=0.5, poll_s=0.2
        )
        self.thread = threading.Thread(target=self.listener.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.listener.stop()
            self.thread.join(15)


@contextmanager
def beat_process(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mediasync", "beat", "--name", "doctor-test"],
        cwd=ROOT,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **env,
            "MEDIASYNC_LOG_LEVEL": "WARNING",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(15)


def with_account(settings: Settings, account: CloudinaryAccount) -> Settings:
    return dataclasses.replace(settings, cloudinary=account)
