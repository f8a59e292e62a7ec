"""Signed notification delivery: one worker thread per target URL, retries, a log."""

from __future__ import annotations

import http.client
import json
import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cloudinary_emulator.signing import sign_notification
from cloudinary_emulator.timefmt import iso_micros

logger = logging.getLogger(__name__)

LOG_LIMIT = 10_000  # keep the log bounded when a long-running emulator sends a lot


@dataclass(frozen=True)
class _Job:
    url: str
    notification_type: str
    body: bytes


class Outbox:
    """Queues notifications and delivers them off the request thread.

    One lane (queue + thread) per target URL keeps notifications for a target in the
    order they were produced, even while one of them is being retried, without a
    failing target delaying the others.
    """

    def __init__(
        self,
        api_secret: str,
        algorithm: str,
        default_url: str | None = None,
        attempts: int = 3,
        base_delay: float = 1.0,
        timeout: float = 5.0,
    ) -> None:
        self._secret = api_secret
        self._algorithm = algorithm
        self._initial = (default_url, attempts, base_delay)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._lanes: dict[
            str, tuple[queue.SimpleQueue[_Job | None], threading.Thread]
        ] = {}
        self._log: list[dict[str, Any]] = []
        # Every notification produced, delivered or not (no URL, disabled): what a test
        # asserts on when it has no receiver. Bounded: the oldest go first.
        self._captured: deque[bytes] = deque(maxlen=LOG_LIMIT)
        self._idle = threading.Condition()
        self._pending = 0
        self._stopping = threading.Event()
        self.reset()

    def reset(self) -> None:
        """Back to the constructor's settings, with an empty log."""
        self.enabled = True
        self.default_url, self.attempts, self.base_delay = self._initial
        with self._lock:
            self._log.clear()
            self._captured.clear()

    def configure(
        self,
        enabled: bool,
        url: str | None = None,
        attempts: int | None = None,
        base_delay: float | None = None,
    ) -> None:
        self.enabled = enabled
        if url is not None:
            self.default_url = url or None
        if attempts is not None:
            self.attempts = max(1, attempts)
        if base_delay is not None:
            self.base_delay = max(0.0, base_delay)

    def send(self, payload: dict[str, Any], url: str | None = None) -> None:
        """Queue one notification for the call's URL, else the global one, if any."""
        target = url or self.default_url
        body = json.dumps(payload).encode()
        with self._lock:
            self._captured.append(body)
        if not self.enabled or not target or self._stopping.is_set():
            return
        job = _Job(target, str(payload.get("notification_type")), body)
        with self._idle:
            self._pending += 1
        self._lane(target).put(job)

    def log(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._log]

    def captured(self) -> list[dict[str, Any]]:
        """The notifications produced since the last reset, oldest first."""
        with self._lock:
            bodies = list(self._captured)
        return [json.loads(body) for body in bodies]

    def wait_idle(self, timeout: float) -> bool:
        """True once every queued notification has been delivered or given up on."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        self._stopping.set()
        with self._lock:
            lanes = list(self._lanes.values())
            self._lanes.clear()
        for jobs, _ in lanes:
            jobs.put(None)
        for _, thread in lanes:
            thread.join(timeout=self.timeout + 1)

    def _lane(self, url: str) -> queue.SimpleQueue[_Job | None]:
        with self._lock:
            lane = self._lanes.get(url)
            if lane is None:
                jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
                thread = threading.Thread(
                    target=self._run,
                    args=(jobs,),
                    name="emulator-delivery",
                    daemon=True,
                )
                lane = self._lanes[url] = (jobs, thread)
                thread.start()
            return lane[0]

    def _run(self, jobs: queue.SimpleQueue[_Job | None]) -> None:
        while (job := jobs.get()) is not None:
            try:
                self._deliver(job)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _deliver(self, job: _Job) -> None:
        for attempt in range(1, self.attempts + 1):
            if self._stopping.is_set():
                return
            if self._attempt(job, attempt):
                return
            if attempt < self.attempts:
                # Exponential backoff; the wait ends early when the emulator stops.
                self._stopping.wait(self.base_delay * 2 ** (attempt - 1))
        logger.warning(
            "gave up on %s notification to %s", job.notification_type, job.url
        )

    def _attempt(self, job: _Job, attempt: int) -> bool:
        timestamp = str(int(time.time()))
        signature = sign_notification(
            job.body, timestamp, self._secret, self._algorithm
        )
        status: int | None = None
        error: str | None = None
        try:
            status = _post(job.url, job.body, timestamp, signature, self.timeout)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        ok = status is not None and 200 <= status < 300
        entry = {
            "url": job.url,
            "notification_type": job.notification_type,
            "attempt": attempt,
            "status": status,
            "error": error,
            "ok": ok,
            "time": iso_micros(time.time()),
            "timestamp": timestamp,
            "signature": signature,
            "body": job.body.decode("utf-8"),
        }
        with self._lock:
            self._log.append(entry)
            del self._log[:-LOG_LIMIT]
        return ok


def _post(url: str, body: bytes, timestamp: str, signature: str, timeout: float) -> int:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    connection_class = (
        http.client.HTTPSConnection
        if parts.scheme == "https"
        else http.client.HTTPConnection
    )
    # http.client directly, not urllib: a proxy from the environment must not
    # swallow deliveries to a receiver on localhost.
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request(
            "POST",
            path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "X-Cld-Timestamp": timestamp,
                "X-Cld-Signature": signature,
                "User-Agent": "cloudinary-emulator",
            },
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()
