"""The cleanup listener: LISTEN mediasync_cleanup, turn bursts into a few drain tasks.

It never does the work itself and holds no state that matters: the queue table is the truth,
NOTIFY only wakes us up. After every (re)connect it catches up on rows that became due while
it was away, before relying on NOTIFY again. A dead connection is noticed within ~15 s (TCP
keepalives and a heartbeat write every few seconds), then it reconnects with capped backoff.
Any number of listeners may run; each one's heartbeat row says it is alive.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from types import FrameType
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.orm import Session

from db.notify import CLEANUP_CHANNEL
from db.urls import libpq_url
from workers import heartbeats
from workers.cleanup.queue import drains_for

logger = logging.getLogger(__name__)

HEARTBEAT_PREFIX = "listener:"
HEARTBEAT_S = 3.0
POLL_S = 1.0
MAX_BURST_S = 0.5
# libpq connection options: keepalives notice a silent peer while we wait for NOTIFY;
# tcp_user_timeout bounds a write (the heartbeat) to a peer that vanished mid-conversation.
CONNECTION_OPTIONS: dict[str, Any] = {
    "autocommit": True,
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 9000,
    "application_name": "mediasync-listener",
}

_DUE = (
    "SELECT count(*) FROM (SELECT 1 FROM cloudinary_cleanup_queue"
    " WHERE status = 'pending' AND next_attempt_at <= now() LIMIT 100000) due"
)
_jitter = random.SystemRandom()


def stale_after_s(heartbeat_s: float, poll_s: float, max_burst_s: float) -> float:
    """How old a heartbeat may get before two in a row were missed: a beat is due every
    heartbeat_s, but is written only between waits for NOTIFY, so may come one wait late."""
    return 2 * heartbeat_s + poll_s + max_burst_s


@dataclass(frozen=True)
class ListenerHeartbeat:
    name: str
    host: str | None
    pid: int | None
    # what the listener last said (`reported_state`), or "stale" once two heartbeats were
    # missed: a SIGKILLed or wedged listener cannot say so itself
    state: str | None
    last_seen: datetime
    age_s: float
    reported_state: str | None = None
    stale: bool = False
    stale_after_s: float = stale_after_s(HEARTBEAT_S, POLL_S, MAX_BURST_S)

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["last_seen"] = self.last_seen.isoformat()
        return values


def listener_heartbeats(session: Session) -> list[ListenerHeartbeat]:
    """Every listener's last sign of life (for `cleanup status` and metrics)."""
    return [_heartbeat(*row) for row in heartbeats.listed(session, HEARTBEAT_PREFIX)]


def _heartbeat(
    name: str, details: dict[str, Any], last_seen: datetime, age_s: float
) -> ListenerHeartbeat:
    # rows of listeners from before stale_after_s was recorded ran the defaults
    limit = float(
        details.get("stale_after_s") or stale_after_s(HEARTBEAT_S, POLL_S, MAX_BURST_S)
    )
    reported = details.get("state")
    stale = age_s > limit
    return ListenerHeartbeat(
        name=name.removeprefix(HEARTBEAT_PREFIX),
        host=details.get("host"),
        pid=details.get("pid"),
        state="stale" if stale else reported,
        last_seen=last_seen,
        age_s=age_s,
        reported_state=reported,
        stale=stale,
        stale_after_s=limit,
    )


def forget_stale_listeners(session: Session, older_than_s: float = 86400) -> int:
    """Drop heartbeats of listeners gone this long (crashed ones never remove their own)."""
    return heartbeats.forget_older(session, HEARTBEAT_PREFIX, older_than_s)


class Listener:
    """One LISTEN loop; `run()` blocks until `stop()` (from any thread or a signal)."""

    def __init__(
        self,
        database_url: str,
        kick: Callable[[int], None],
        *,
        name: str | None = None,
        parallel: int = 4,
        heartbeat_s: float = HEARTBEAT_S,
        poll_s: float = POLL_S,
        burst_window_s: float = 0.05,
        max_burst_s: float = MAX_BURST_S,
        backoff_cap_s: float = 5.0,
    ) -> None:
        self.conninfo = libpq_url(database_url)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.parallel = parallel
        self.heartbeat_s = heartbeat_s
        self.poll_s = poll_s
        self.burst_window_s = burst_window_s
        self.max_burst_s = max_burst_s
        self.backoff_cap_s = backoff_cap_s
        self.state = "starting"
        self.connects = 0
        self.notifications = 0
        self.drains_sent = 0
        self._kick = kick
        self._owed = 0
        self._stop = threading.Event()
        self._started_at = time.time()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    self._serve()
                except psycopg.Error as exc:
                    failures = 0 if self.state == "listening" else failures
                    failures += 1
                    delay = min(self.backoff_cap_s, 0.25 * 2 ** (failures - 1))
                    delay = delay / 2 + _jitter.uniform(0, delay / 2)
                    self._set_state(
                        "disconnected", f"{exc!s:.200}; reconnecting in {delay:.1f} s"
                    )
                    self._stop.wait(delay)
        finally:
            self._set_state("stopped")
            self._forget_heartbeat()

    def _serve(self) -> None:
        self._set_state("connecting")
        with psycopg.connect(self.conninfo, **CONNECTION_OPTIONS) as conn:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CLEANUP_CHANNEL)))
            self.connects += 1
            self._beat(conn, "listening")
            self._set_state("listening")
            # Rows committed while we were not listening sent NOTIFYs nobody heard.
            due = int(conn.execute(_DUE).fetchone()[0])  # type: ignore[index]  # count(*) always returns a row
            if due:
                logger.info("listener %s: catch-up found %d due rows", self.name, due)
                self._owed = max(self._owed, drains_for(due, self.parallel))
            next_beat = time.monotonic() + self.heartbeat_s
            while not self._stop.is_set():
                arrived = self._collect(conn)
                if arrived:
                    self.notifications += arrived
                    self._owed = max(self._owed, drains_for(arrived, self.parallel))
                if self._owed:
                    self._send_owed()
                if time.monotonic() >= next_beat:
                    # doubles as the idle liveness probe: a dead connection raises here
                    self._beat(conn, "listening")
                    next_beat = time.monotonic() + self.heartbeat_s

    def _collect(self, conn: psycopg.Connection[Any]) -> int:
        """Wait up to poll_s for a notification, then gather the rest of its burst.

        The generators are always run to the end: closing one early would drop
        notifications it had already read from the socket.
        """
        count = sum(1 for _ in conn.notifies(timeout=self.poll_s, stop_after=1))
        if not count:
            return 0
        deadline = time.monotonic() + self.max_burst_s
        while time.monotonic() < deadline:
            more = sum(1 for _ in conn.notifies(timeout=self.burst_window_s))
            if not more:
                break
            count += more
        return count

    def _send_owed(self) -> None:
        try:
            self._kick(self._owed)
        except Exception:  # the broker may be down: keep the debt, retry next round
            logger.exception(
                "listener %s: could not enqueue %d drain tasks; will retry",
                self.name,
                self._owed,
            )
            return
        self.drains_sent += self._owed
        self._owed = 0

    def _beat(self, conn: psycopg.Connection[Any], state: str) -> None:
        details = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "state": state,
            "heartbeat_s": self.heartbeat_s,
            "stale_after_s": stale_after_s(
                self.heartbeat_s, self.poll_s, self.max_burst_s
            ),
            "started_at": self._started_at,
            "notifications": self.notifications,
            "drains_sent": self.drains_sent,
        }
        heartbeats.beat_on(conn, HEARTBEAT_PREFIX + self.name, details)

    def _forget_heartbeat(self) -> None:
        # A clean stop removes our row; a crashed listener's row stays and ages (that is
        # the alarm), until forget_stale_listeners drops it.
        try:
            with psycopg.connect(self.conninfo, **CONNECTION_OPTIONS) as conn:
                heartbeats.forget_on(conn, HEARTBEAT_PREFIX + self.name)
        except psycopg.Error as exc:
            logger.warning(
                "listener %s: could not remove its heartbeat: %s", self.name, exc
            )

    def _set_state(self, state: str, detail: str = "") -> None:
        if state == self.state and not detail:
            return
        self.state = state
        level = logging.WARNING if state == "disconnected" else logging.INFO
        logger.log(level, "listener %s: %s %s", self.name, state, detail)


def main(
    database_url: str,
    kick: Callable[[int], None],
    *,
    name: str | None = None,
    parallel: int = 4,
) -> int:
    """Run a listener in this process until SIGTERM/SIGINT."""
    listener = Listener(database_url, kick, name=name, parallel=parallel)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("listener %s: signal %s, stopping", listener.name, signum)
        listener.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    listener.run()
    return 0
