"""A notification sink on 127.0.0.1: the emulator posts to it, it answers 200 and keeps
each signed body with the headers it was signed with, in arrival order (the emulator
delivers one target's notifications in the order it produced them)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

PATH = "/capture"


@dataclass(frozen=True)
class Captured:
    """One notification as the emulator sent it: the raw body and its signed headers."""

    seq: int  # production order
    body: bytes
    timestamp: str
    signature: str

    @property
    def parsed(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.body)
        return parsed

    @property
    def notification_type(self) -> str:
        return str(self.parsed.get("notification_type"))


class Sink:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Captured] = []
        self.url = ""

    def take(self) -> list[Captured]:
        """Everything captured so far, and start afresh."""
        with self._lock:
            items, self._items = self._items, []
        return items

    def count(self) -> int:
        with self._lock:
            return len(self._items)

    def _add(self, body: bytes, timestamp: str, signature: str) -> None:
        with self._lock:
            self._items.append(Captured(len(self._items), body, timestamp, signature))


@contextmanager
def capturing_sink() -> Iterator[Sink]:
    sink = Sink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            sink._add(
                body,
                self.headers.get("X-Cld-Timestamp", ""),
                self.headers.get("X-Cld-Signature", ""),
            )
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per notification would drown the test output

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sink.url = f"http://127.0.0.1:{server.server_port}{PATH}"
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
