"""What one receiver app holds: its settings and the clients its views share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask

from webhook_receiver.inbox_writer import InboxWriter
from webhook_receiver.metrics import ReceiverMetrics
from webhook_receiver.wakeup import Waker
from workers.config import Settings

EXTENSION = "mediasync"


@dataclass(frozen=True)
class Receiver:
    settings: Settings
    inbox: InboxWriter
    waker: Waker
    metrics: ReceiverMetrics
    # more to close with the app (the operator API's engine and Redis client)
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Close the database and broker connections (tests; gunicorn exits otherwise)."""
        self.inbox.close()
        self.waker.close()
        for close in self.closers:
            close()


def receiver(app: Flask) -> Receiver:
    state: Receiver = app.extensions[EXTENSION]
    return state
