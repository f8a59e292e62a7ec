"""Deliver captured notifications to the receiver over HTTP, and wait for the apply.

The bodies are delivered byte for byte with the headers the emulator signed them with;
only a timestamp about to leave the receiver's window is re-signed (same body, new
X-Cld-Timestamp), as a sender's retry would be.
"""

from __future__ import annotations

import http.client
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.chaos.capture import Captured
from webhook_receiver.signature import sign

WEBHOOK = "/webhooks/cloudinary"
# re-sign when a capture is older than this (the receiver's default window is 7,200 s)
RESIGN_AFTER_S = 3600


def shuffled_copies(
    captured: Sequence[Captured], copies: int, seed: int
) -> list[Captured]:
    """Each notification `copies` times, in a seeded random order."""
    out = [c for c in captured for _ in range(copies)]
    random.Random(seed).shuffle(out)  # noqa: S311 - seeded: a run can be replayed
    return out


def headers(item: Captured, secret: str, now: float | None = None) -> dict[str, str]:
    now = time.time() if now is None else now
    timestamp, signature = item.timestamp, item.signature
    if now - int(timestamp) > RESIGN_AFTER_S:
        timestamp = str(int(now))
        signature = sign(item.body, timestamp, secret, _algorithm(item.signature))
    return {
        "Content-Type": "application/json",
        "X-Cld-Timestamp": timestamp,
        "X-Cld-Signature": signature,
    }


def _algorithm(signature: str) -> str:
    return "sha1" if len(signature) == 40 else "sha256"


def post(receiver_url: str, item: Captured, secret: str) -> int:
    parts = urlsplit(receiver_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request("POST", WEBHOOK, body=item.body, headers=headers(item, secret))
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


def deliver(
    receiver_url: str, items: Sequence[Captured], secret: str, *, parallel: int = 1
) -> Counter[int]:
    """POST every item; the receiver's answers by status. `parallel` 1 keeps the order."""
    if parallel <= 1:
        return Counter(post(receiver_url, item, secret) for item in items)
    with ThreadPoolExecutor(parallel) as pool:
        return Counter(pool.map(lambda i: post(receiver_url, i, secret), items))


@dataclass(frozen=True)
class InboxState:
    pending: int
    due: int
    applied: int
    ignored: int
    failed: int
    retried: int  # rows that needed more than one attempt
    errors: tuple[str, ...]

    def __str__(self) -> str:
        line = (
            f"inbox: applied {self.applied}, ignored {self.ignored}, failed {self.failed},"
            f" pending {self.pending} (due {self.due}), retried {self.retried}"
        )
        return line + "".join(f"\n  error: {e}" for e in self.errors)


def inbox_state(session: Session) -> InboxState:
    counts = session.execute(
        text(
            """
            SELECT count(*) FILTER (WHERE status = 'pending'),
                   count(*) FILTER (WHERE status = 'pending' AND next_attempt_at <= now()),
                   count(*) FILTER (WHERE status = 'applied'),
                   count(*) FILTER (WHERE status = 'ignored'),
                   count(*) FILTER (WHERE status = 'failed'),
                   count(*) FILTER (WHERE attempts > 0 AND last_error IS NOT NULL)
              FROM webhook_inbox
            """
        )
    ).one()
    errors = session.execute(
        text(
            "SELECT notification_type || ': ' || last_error FROM webhook_inbox"
            " WHERE last_error IS NOT NULL ORDER BY id LIMIT 5"
        )
    ).scalars()
    pending, due, applied, ignored, failed, retried = (int(c) for c in counts)
    return InboxState(
        pending, due, applied, ignored, failed, retried, errors=tuple(errors)
    )


def settle(
    begin: Callable[[], AbstractContextManager[Session]],
    wake: Callable[[], None],
    *,
    timeout: float,
    quiet_s: float = 3.0,
    sweep_every_s: float = 2.0,
) -> InboxState:
    """Wait until no row is pending, or until only rows waiting out a retry backoff are
    left and nothing has moved for `quiet_s` (they are reported, not waited for).

    `wake` plays the beat's inbox sweep, every `sweep_every_s` while rows are due, so a
    wake-up lost between the receiver and the workers costs seconds, not the sweep's 30 s.
    """
    deadline = time.monotonic() + timeout
    last, still_since, swept = None, time.monotonic(), time.monotonic()
    while True:
        with begin() as session:
            state = inbox_state(session)
        if state.pending == 0:
            return state
        now = time.monotonic()
        if state != last:
            last, still_since = state, now
        elif state.due == 0 and now - still_since >= quiet_s:
            return state
        if now > deadline:
            return state
        if state.due and now - swept >= sweep_every_s:
            wake()
            swept = now
        time.sleep(0.1)
