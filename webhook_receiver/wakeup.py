"""Wake a worker to apply the inbox, off the request path.

The row is committed before wake() is called, so a wake-up is only a hint: a request hands
it to this process's wake-up thread and answers 202 at once. The thread coalesces: however
many rows arrived since its last round, it sends one wake-up for all of them (any row
committed before the round starts is covered by it). Redis never slows a request, and a
broker outage costs no request any time; the thread retries with backoff, and the beat
sweep finds whatever a dead process never sent.

Across processes, the wake-up protocol (workers/inbox/wakeup.py) keeps one queued drain at
a time: while one is queued and has not started, no process queues another.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import redis
from kombu.exceptions import KombuError
from redis.backoff import NoBackoff
from redis.retry import Retry

from workers.inbox import wakeup
from workers.inbox.tasks import APPLY_QUEUE, apply_inbox

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_S = 1.0
COALESCE_S = 0.005
RETRY_PAUSES_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class Waker:
    def __init__(
        self, broker_url: str, on_failure: Callable[[], None] = lambda: None
    ) -> None:
        self._redis: redis.Redis | None = None
        if wakeup.has_slot(broker_url):
            self._redis = redis.Redis.from_url(
                broker_url,
                socket_connect_timeout=BROKER_TIMEOUT_S,
                socket_timeout=BROKER_TIMEOUT_S,
                retry=Retry(NoBackoff(), 0),  # fail fast; the thread has its own pauses
            )
        self._on_failure = on_failure
        self._pending = threading.Event()
        self._stopping = threading.Event()
        self._latest = 0
        self._owed = False  # a row committed since the last wake-up sent
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._connection: Any = None

    def wake(self, inbox_id: int) -> None:
        """Ask for a drain that starts after this (committed) row; returns at once."""
        self._latest = inbox_id
        self._owed = True
        self._pending.set()
        if self._thread is None:
            self._start()

    def ping(self) -> None:
        """Raise unless the broker answers (readiness)."""
        if self._redis is not None:
            self._redis.ping()
            return
        connection = apply_inbox.app.connection_for_write(
            connect_timeout=BROKER_TIMEOUT_S
        )
        try:
            connection.ensure_connection(max_retries=0)
        finally:
            connection.release()

    def close(self) -> None:
        """Stop the thread after a last wake-up if one is owed (best effort)."""
        self._stopping.set()
        self._pending.set()
        if self._thread is not None:
            self._thread.join(2 * BROKER_TIMEOUT_S + 1)
        if self._connection is not None:
            self._connection.release()
        if self._redis is not None:
            self._redis.close()

    def _start(self) -> None:
        # started on first use, so it lives in the gunicorn worker, not the master
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="mediasync-wakeup", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        failures = 0
        while True:
            # Rounds at most every COALESCE_S: under load one Redis call covers the many
            # rows committed meanwhile; when idle, the first row is sent at once.
            self._stopping.wait(COALESCE_S)
            self._pending.wait()
            self._pending.clear()
            stopping = self._stopping.is_set()
            # on the way out, one last try unless the broker is known to be down
            if self._owed and not (stopping and failures):
                self._owed = False
                if self._send(self._latest):
                    failures = 0
                else:
                    self._owed = True
                    self._on_failure()
                    pause = RETRY_PAUSES_S[min(failures, len(RETRY_PAUSES_S) - 1)]
                    failures += 1
                    if not stopping:
                        self._stopping.wait(pause)
                        self._pending.set()
            if stopping:
                return  # what is still owed, the sweep finds

    def _send(self, inbox_id: int) -> bool:
        claimed = False
        try:
            if self._redis is not None:
                claimed = wakeup.take_slot(self._redis, inbox_id)
                if not claimed:
                    return True  # a queued drain has not started: it will see the rows
            apply_inbox.apply_async(
                (inbox_id,), queue=APPLY_QUEUE, producer=self._producer(), retry=False
            )
        except (KombuError, redis.RedisError, OSError) as exc:
            self._reset_producer()
            if claimed:
                self._release_claim()
            logger.warning(
                "broker unavailable; inbox %s and later wait (%s)",
                inbox_id,
                type(exc).__name__,
                extra={"inbox_id": inbox_id},
            )
            return False
        return True

    def _producer(self) -> Any:
        if self._connection is None:
            app = apply_inbox.app
            # fail fast instead of Celery's and redis-py's retry loops
            self._connection = app.connection_for_write(
                connect_timeout=BROKER_TIMEOUT_S,
                transport_options={
                    **app.conf.broker_transport_options,
                    "max_retries": 0,
                    "socket_connect_timeout": BROKER_TIMEOUT_S,
                    "socket_timeout": BROKER_TIMEOUT_S,
                },
            )
        return self._connection.Producer()

    def _reset_producer(self) -> None:
        # after a broker failure the channel may be half-open: start afresh next time
        if self._connection is not None:
            self._connection.release()
            self._connection = None

    def _release_claim(self) -> None:
        if self._redis is None:
            return
        # if this fails too, the key expires by itself within wakeup.WAKEUP_TTL_S
        with contextlib.suppress(redis.RedisError):
            wakeup.release_slot(self._redis)
