"""What one receiver app holds: its settings and the clients its views share."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from webhook_receiver.inbox import InboxWriter
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

    def close(self) -> None:
        """Close the database and broker connections (tests; gunicorn exits otherwise)."""
        self.inbox.close()
        self.waker.close()


def receiver(app: Flask) -> Receiver:
    state: Receiver = app.extensions[EXTENSION]
    return state
