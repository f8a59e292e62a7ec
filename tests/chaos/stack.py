"""The system under test for the chaos harness: the receiver over real HTTP on loopback
(in this process, as tests/inbox/test_emulator.py runs it) and N `mediasync worker`
processes, all on one database and one Redis index, with the emulator as Cloudinary.

One stack serves several runs: `clear()` empties every table between them (the workers stay
up, which is also what production looks like between two histories).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import WSGIRequestHandler, make_server

from db.session import make_engine, make_sessionmaker
from tests.webhook_receiver.helpers import receiver_app
from workers.config import Settings

REPO = Path(__file__).resolve().parents[2]
STOP_TIMEOUT_S = 20


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        pass  # thousands of deliveries: one line each would bury the counts


@dataclass
class Stack:
    settings: Settings
    receiver_url: str
    sessions: sessionmaker[Session]
    logs: list[Path] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def clear(self) -> None:
        clear_tables(self.sessions)

    def log_tail(self, lines: int = 30) -> str:
        out = []
        for log in self.logs:
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(out)

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.workers)


def clear_tables(sessions: sessionmaker[Session]) -> None:
    """Empty every table but the migrations' record (and restart the ids)."""
    with sessions.begin() as session:
        tables = session.execute(
            text(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname ="
                " 'public' AND tablename <> 'mediasync_schema_migrations'"
            )
        ).scalars()
        # emptying the mirror only: nothing to delete in Cloudinary (else TRUNCATE is refused)
        session.execute(text("SET LOCAL mediasync.origin = 'cloudinary'"))
        session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@contextmanager
def running_stack(
    settings: Settings, cloudinary_url: str, workers: int, log_dir: Path
) -> Iterator[Stack]:
    engine = make_engine(settings.database_url)
    with receiver_app(settings) as app:
        server = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler
        )
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        stack = Stack(
            settings,
            f"http://127.0.0.1:{server.server_port}",
            make_sessionmaker(engine),
        )
        try:
            for n in range(workers):
                _spawn_worker(stack, cloudinary_url, n, log_dir)
            yield stack
        finally:
            _stop(stack.workers)
            server.shutdown()
            thread.join(10)
            engine.dispose()


def _spawn_worker(stack: Stack, cloudinary_url: str, n: int, log_dir: Path) -> None:
    settings = stack.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIASYNC_")}
    env.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        CLOUDINARY_URL=cloudinary_url,
        MEDIASYNC_LOG_LEVEL="WARNING",
    )
    log = log_dir / f"chaos-worker-{n}.log"
    stack.logs.append(log)
    with log.open("wb") as out:
        stack.workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "mediasync",
                    "worker",
                    "--pool",
                    "solo",
                    "-n",
                    f"chaos{n}-{os.getpid()}@%h",
                    "--without-gossip",
                    "--without-mingle",
                ],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        )


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    # a warm shutdown for each at once (they finish their task), then wait for all
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
