"""A real Server-Sent Events client over a plain socket (what a browser's EventSource does),
and the in-process feed it talks to, on an event loop of its own thread."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from webhook_receiver.change_feed.hub import Hub
from webhook_receiver.change_feed.server import FeedServer
from workers.config import Settings

T = TypeVar("T")
FEED_TOKEN = "feed-token-for-tests"
API_TOKEN = "operator-token-for-tests"


@dataclass
class Event:
    id: int | None
    event: str
    data: dict[str, Any]


@dataclass
class SseClient:
    port: int
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    token: str | None = FEED_TOKEN
    receive_buffer: int | None = None
    status: int = 0
    head: dict[str, str] = field(default_factory=dict)
    comments: int = 0
    body: bytes = b""

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.receive_buffer:
            self.sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer
            )
        self.sock.settimeout(10)
        try:
            self.sock.connect(("127.0.0.1", self.port))
            self._request()
        except BaseException:
            self.sock.close()
            raise

    def _request(self) -> None:
        headers = {"Host": "127.0.0.1", "Accept": "text/event-stream", **self.headers}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        lines = [f"GET /api/changes{'?' + self.query if self.query else ''} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self._buffer = b""
        while b"\r\n\r\n" not in self._buffer:
            self._receive(time.monotonic() + 10)
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split(" ")[1])
        self.head = {
            k.lower(): v.strip()
            for k, _, v in (line.partition(":") for line in header_lines)
        }
        if self.status != 200:
            length = int(self.head.get("content-length", "0"))
            while len(self._buffer) < length:
                self._receive(time.monotonic() + 10)
            self.body = self._buffer

    def error(self) -> str:
        return str(json.loads(self.body)["error"])

    def _receive(self, deadline: float) -> None:
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the feed closed the stream")
        self._buffer += chunk

    def next_event(self, timeout: float = 10) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            while b"\n\n" not in self._buffer:
                self._receive(deadline)
            block, self._buffer = self._buffer.split(b"\n\n", 1)
            event = self._parse(block.decode())
            if event is not None:
                return event

    def _parse(self, block: str) -> Event | None:
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                self.comments += 1
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        if "data" not in fields:
            return None
        return Event(
            int(fields["id"]) if "id" in fields else None,
            fields.get("event", "message"),
            json.loads(fields["data"]),
        )

    def events(self, count: int, timeout: float = 20) -> list[Event]:
        deadline = time.monotonic() + timeout
        return [
            self.next_event(max(0.01, deadline - time.monotonic()))
            for _ in range(count)
        ]

    def quiet_for(self, seconds: float) -> bool:
        """No event arrives within `seconds` (comments do not count)."""
        try:
            self.next_event(seconds)
        except TimeoutError:
            return True
        return False

    def close(self) -> None:
        self.sock.close()


class RunningFeed:
    """FeedServer and its hub on an event loop in a thread; `call` runs a function there."""

    def __init__(self, settings: Settings, **options: Any) -> None:
        self.clients: list[SseClient] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        hub_options = {k: options.pop(k) for k in list(options) if k in _HUB_OPTIONS}

        async def start() -> tuple[FeedServer, int]:
            server = FeedServer(
                settings, Hub(settings.database_url, **hub_options), **options
            )
            return server, await server.start("127.0.0.1", 0)

        self.server, self.port = self._run(start())
        self.hub = self.server.hub
        self.call(lambda: None)
        self._run(asyncio.wait_for(self.hub.ready(), 10))

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def call(self, fn: Callable[[], T]) -> T:
        async def inside() -> T:
            return fn()

        result: T = self._run(inside())
        return result

    def client(self, query: str = "", **kwargs: Any) -> SseClient:
        client = SseClient(self.port, query, **kwargs)
        self.clients.append(client)
        return client

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        self._run(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


_HUB_OPTIONS = ("page_size", "queue_size", "idle_s", "hole_poll_s", "application_name")
