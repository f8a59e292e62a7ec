"""Helpers of the cleanup chaos scenarios (tests/chaos/test_cleanup_chaos.py): the profile,
real `mediasync worker | listener | beat` processes on the test's own database and Redis
index, and what a run is measured by (Cloudinary calls, queue states, re-sent ids).

Every process is started here, in its own process group, so a scenario may SIGKILL it
without touching anything else on the machine's shared PostgreSQL and Redis.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from bench.cleanup_drain import process_env, wait_listeners_ready, wait_workers_ready
from cloudinary_emulator import Emulator
from workers.celery_app import CLEANUP_QUEUE
from workers.config import Settings

REPO = Path(__file__).resolve().parents[2]
BATCH = 100


@dataclass(frozen=True)
class Sizes:
    full: bool
    # (a) a delete under a 420 whose reset is `reset_in_s` away
    rate_limited_rows: int
    reset_in_s: float
    # (b) a worker SIGKILLed mid-drain
    killed_rows: int
    # (c) rows deleted while the listener is dead
    listener_rows: int


QUICK = Sizes(
    full=False, rate_limited_rows=300, reset_in_s=4, killed_rows=600, listener_rows=100
)
FULL = Sizes(
    full=True,
    rate_limited_rows=3000,
    reset_in_s=20,
    killed_rows=3000,
    listener_rows=1000,
)


def chaos_mode() -> str:
    """MEDIASYNC_CHAOS as this process was started with it: tests/conftest.py strips
    MEDIASYNC_* from os.environ at import, /proc/self/environ still has it on Linux."""
    if "MEDIASYNC_CHAOS" in os.environ:
        return os.environ["MEDIASYNC_CHAOS"]
    with suppress(OSError):
        for entry in Path("/proc/self/environ").read_bytes().split(b"\0"):
            name, _, value = entry.partition(b"=")
            if name == b"MEDIASYNC_CHAOS":
                return value.decode(errors="replace")
    return "quick"


def sizes() -> Sizes:
    return FULL if chaos_mode() == "full" else QUICK


def floor_calls(rows: int) -> int:
    """The fewest delete_resources calls `rows` deletes can cost."""
    return math.ceil(rows / BATCH)


class Processes:
    """`mediasync` processes of one scenario; all stopped (group SIGKILL if need be) at
    the end, whatever the scenario did to them."""

    def __init__(self, settings: Settings, log_dir: Path, **env: str) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.env = process_env(settings) | env
        self.started: list[subprocess.Popen[bytes]] = []

    def workers(self, *names: str) -> list[subprocess.Popen[bytes]]:
        """`mediasync worker -c 1` on the cleanup queue, one per name, once consuming."""
        started = []
        for name in names:
            command = ["worker", "-c", "1", "-Q", CLEANUP_QUEUE, "-n", f"{name}@%h"]
            command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
            started.append(self._spawn(command, name))
        wait_workers_ready(list(names))
        return started

    def listener(self, name: str) -> subprocess.Popen[bytes]:
        process = self._spawn(["listener", "--name", name], name)
        wait_listeners_ready(self.settings.database_url, [name])
        return process

    def beat(self, name: str = "beat") -> subprocess.Popen[bytes]:
        return self._spawn(["beat", "--name", name], name)

    def kill(self, process: subprocess.Popen[bytes]) -> float:
        """SIGKILL the process and its children (a prefork pool); the kill's time."""
        os.killpg(process.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        process.wait()
        return killed_at

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.started:
            with suppress(subprocess.TimeoutExpired):
                process.wait(max(0.0, deadline - time.monotonic()))
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def log_tail(self, lines: int = 20) -> str:
        out = []
        for path in sorted(self.log_dir.glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(out)

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        with open(self.log_dir / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "mediasync", *args],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: a kill takes its pool too
            )
        self.started.append(process)
        return process


@contextmanager
def processes(settings: Settings, log_dir: Path, **env: str) -> Iterator[Processes]:
    started = Processes(settings, log_dir, **env)
    try:
        yield started
    finally:
        started.stop_all()


def seed(em: Emulator, sessions: sessionmaker[Session], count: int) -> list[str]:
    """`count` assets in the emulator and a live mirror row for each."""
    em.client.seed(count=count, prefix="chaos/")
    public_ids = sorted(
        a["public_id"]
        for a in em.client.assets(resource_type="image", type="upload")
        if a["public_id"].startswith("chaos/")
    )
    with sessions.begin() as session:
        session.execute(
            text(
                "INSERT INTO media_assets (public_id, asset_id, version)"
                " SELECT pid, md5(pid), 1 FROM unnest(CAST(:pids AS text[])) pid"
            ),
            {"pids": public_ids},
        )
    return public_ids


def delete_rows(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        session.execute(text("DELETE FROM media_assets"))


def statuses(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions.begin() as session:
        rows = session.execute(
            text("SELECT status, count(*) FROM cloudinary_cleanup_queue GROUP BY 1")
        )
        return {status: int(n) for status, n in rows}


def settled(em: Emulator, sessions: sessionmaker[Session], rows: int) -> bool:
    """Every queued row finished and no asset is left in Cloudinary."""
    return statuses(sessions) == {"completed": rows} and em.client.count_assets() == 0


def resent_ids(sessions: sessionmaker[Session]) -> int:
    """Rows sent to Cloudinary more than once. The answered attempt counts one, a reclaim
    counts the lost one, a 420 counts none, and no other fault runs in these scenarios:
    these are the rows of killed batches."""
    with sessions.begin() as session:
        return int(
            session.execute(
                text("SELECT count(*) FROM cloudinary_cleanup_queue WHERE attempts > 1")
            ).scalar_one()
        )


def deleted_twice(sessions: sessionmaker[Session]) -> int:
    """Rows the audit log records as deleted more than once (must be none: a re-sent id
    answers not_found)."""
    with sessions.begin() as session:
        return len(
            session.execute(
                text(
                    "SELECT public_id FROM media_sync_log WHERE status = 'deleted'"
                    " GROUP BY public_id HAVING count(*) > 1"
                )
            ).all()
        )
