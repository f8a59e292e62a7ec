"""`mediasync feed`: GET /api/changes as Server-Sent Events, on asyncio, in its own process.

Streaming connections stay open for hours; in the receiver's gthread pool 200 of them would
take every thread Cloudinary's webhooks need. Here each client costs a coroutine, a bounded
queue and a socket, and one database connection (the hub's) serves them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time

from webhook_receiver.change_feed import http
from webhook_receiver.change_feed.hub import Hub, Subscriber
from workers.config import Settings

logger = logging.getLogger(__name__)

HEARTBEAT_S = 15.0
HEADER_TIMEOUT_S = 10.0
MAX_CLIENTS = 1000


class FeedServer:
    def __init__(
        self,
        settings: Settings,
        hub: Hub,
        *,
        heartbeat_s: float = HEARTBEAT_S,
        header_timeout_s: float = HEADER_TIMEOUT_S,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.tokens = (settings.api_token, settings.feed_token)
        self.hub = hub
        self.heartbeat_s = heartbeat_s
        self.header_timeout_s = header_timeout_s
        self.max_clients = max_clients
        self._server: asyncio.Server | None = None
        self._hub_task: asyncio.Task[None] | None = None

    @property
    def hub_task(self) -> asyncio.Task[None]:
        if self._hub_task is None:
            raise RuntimeError("start() first")
        return self._hub_task

    async def start(self, host: str, port: int) -> int:
        """Start the hub and listen; the port bound (for port 0)."""
        self._hub_task = asyncio.create_task(self.hub.run())
        self._server = await asyncio.start_server(
            self._handle, host, port, limit=http.MAX_LINE + 2
        )
        bound: int = self._server.sockets[0].getsockname()[1]
        logger.info("change feed: serving GET %s on %s:%d", http.FEED_PATH, host, bound)
        return bound

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for subscriber in list(self.hub.subscribers):
            subscriber.close("the feed is stopping")
        self.hub.stop()
        if self._hub_task is not None:
            # a hub that failed has said so already (serve re-raises it)
            await asyncio.gather(self._hub_task, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            answer = await self._answer(reader)
            if isinstance(answer, bytes):
                writer.write(answer)
                await writer.drain()
            else:
                await self._stream(answer, reader, writer)
        except (ConnectionError, http.ClientGone):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> bytes | http.FeedRequest:
        """The error or health answer to send, or the stream asked for."""
        try:
            request = await asyncio.wait_for(
                http.read_request(reader), self.header_timeout_s
            )
            if request.path in http.HEALTH_PATHS:
                return self._health(request)
            if request.path != http.FEED_PATH:
                raise http.HttpError(404, "not found")
            if request.method != "GET":
                raise http.HttpError(405, f"{request.path} answers GET only")
            expires_at = http.authorize(request, self.tokens)
            wanted = http.feed_request(request, expires_at)
            if len(self.hub.subscribers) >= self.max_clients:
                raise http.HttpError(503, "too many subscribers; retry later")
            return wanted
        except TimeoutError:
            return http.error_answer(408, "the request headers took too long")
        except http.HttpError as exc:
            return http.error_answer(exc.status, exc.message)

    def _health(self, request: http.Request) -> bytes:
        if request.method != "GET":
            raise http.HttpError(405, f"{request.path} answers GET only")
        if request.path == "/readyz" and not self.hub.connected:
            return http.plain_answer(503, "database unavailable\n")
        return http.plain_answer(200, "ok\n")

    async def _stream(
        self,
        wanted: http.FeedRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        subscriber = self.hub.subscribe(wanted.filters, wanted.last_event_id)
        sending = asyncio.ensure_future(self._send(subscriber, writer))
        # anything the client sends after its request is ignored; its EOF ends the stream
        hang_up = asyncio.ensure_future(_until_eof(reader))
        # a console grant's stream ends when the grant does (the browser renews, resumes)
        expiry = asyncio.ensure_future(_until(wanted.expires_at))

        def close() -> None:
            sending.cancel()
            writer.transport.abort()

        subscriber.on_close = close
        try:
            await asyncio.wait(
                {sending, hang_up, expiry}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (sending, hang_up, expiry):
                task.cancel()
            await asyncio.gather(sending, hang_up, expiry, return_exceptions=True)
            self.hub.unsubscribe(subscriber)
            if subscriber.closed_because:
                logger.info(
                    "change feed: closed a subscriber: %s", subscriber.closed_because
                )

    async def _send(self, subscriber: Subscriber, writer: asyncio.StreamWriter) -> None:
        writer.write(http.STREAM_HEAD)
        await writer.drain()
        queue = subscriber.queue
        while True:
            try:
                chunk, events = await asyncio.wait_for(queue.get(), self.heartbeat_s)
            except TimeoutError:
                writer.write(b": keep-alive\n\n")
                await writer.drain()
                continue
            chunks = [chunk]
            while not queue.empty():
                more, count = queue.get_nowait()
                chunks.append(more)
                events += count
            writer.write(b"".join(chunks))
            await writer.drain()
            subscriber.written(events)


async def _until_eof(reader: asyncio.StreamReader) -> None:
    while await reader.read(4096):
        pass


async def _until(unix_time: float | None) -> None:
    """Returns at that wall-clock time; never, for None."""
    if unix_time is None:
        await asyncio.Event().wait()
        return
    while (left := unix_time - time.time()) > 0:
        await asyncio.sleep(min(left, 60.0))


async def serve(
    settings: Settings,
    host: str,
    port: int,
    *,
    max_clients: int = MAX_CLIENTS,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the feed until SIGTERM/SIGINT (or `stop` is set)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = FeedServer(settings, Hub(settings.database_url), max_clients=max_clients)
    await server.start(host, port)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        # the hub ends only when stopped: ending otherwise is a bug, so the process exits
        # (non-zero) for its supervisor to restart it, rather than serve streams that stay
        # silent
        await asyncio.wait(
            {stopping, server.hub_task}, return_when=asyncio.FIRST_COMPLETED
        )
        if server.hub_task.done() and not stopping.done():
            server.hub_task.result()
            raise RuntimeError("the change feed's hub stopped by itself")
    finally:
        logger.info("change feed: stopping")
        stopping.cancel()
        await server.close()


def main(
    settings: Settings, host: str, port: int, *, max_clients: int = MAX_CLIENTS
) -> int:
    asyncio.run(serve(settings, host, port, max_clients=max_clients))
    return 0
