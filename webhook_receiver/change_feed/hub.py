"""The hub: one Postgres connection LISTENs and reads for every subscriber of this process.

The table is the truth, NOTIFY only a wake-up (the listener's approach, workers/cleanup/
listener.py): on each wake the hub reads the changes after `head`, the last id it delivered,
and offers them to every live subscriber whose filters match, through that subscriber's
bounded queue. A subscriber whose queue is full is closed (it may resume with Last-Event-ID);
memory never grows with a client that stopped reading.

No gap, no duplicate. Ids are taken in statement order, not commit order: a transaction may
commit id 12 while id 11's is still running. The hub delivers an id only when every smaller
id is delivered, or can no longer appear: a missing id is given up only once every
transaction that was running when it was seen missing has ended (a rollback's id never
comes). A resuming subscriber (Last-Event-ID) first reads the ids it missed, up to `head`,
page by page from the table on the same connection, and only then takes live changes: the
seam is `head`, and one task moves both, so nothing falls between or comes twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from db.notify import CHANGES_CHANNEL
from db.urls import libpq_url
from webhook_receiver.change_feed import queries
from webhook_receiver.change_feed.queries import Change, Filters

logger = logging.getLogger(__name__)

APPLICATION_NAME = "mediasync-feed"
CONNECTION_OPTIONS: dict[str, Any] = {
    "autocommit": True,
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 9000,
}
_jitter = random.SystemRandom()


class Subscriber:
    """One client: its filters, where it is (`cursor`: the last id it was given or passed
    over; None until the hub knows where "now" is) and its queue of SSE events, bounded to
    `limit` events. The hub queues a page's events as one chunk, shared by every
    subscriber with the same filters: the bytes are held once, whatever the subscribers."""

    def __init__(
        self,
        filters: Filters,
        cursor: int | None,
        limit: int,
        wake: Callable[[], None],
    ) -> None:
        self.filters = filters
        self.cursor = cursor
        self.limit = limit
        self.queue: asyncio.Queue[tuple[bytes, int]] = asyncio.Queue()
        self.pending = 0  # events queued, not yet written
        self.resumed = cursor is not None
        self.closed_because: str | None = None
        self.overflowed = False
        # the hub passed over its catch-up for want of room in the queue
        self.waiting_for_room = False
        self.on_close: Callable[[], None] | None = None
        self._wake = wake

    @property
    def room(self) -> int:
        return self.limit - self.pending

    def offer(self, chunk: bytes, events: int) -> bool:
        """Queue `events` SSE events framed in `chunk`; over the limit, close instead."""
        if self.closed_because is not None:
            return False
        if self.pending + events > self.limit:
            self.overflowed = True
            self.close("too slow: its buffer of events filled up")
            return False
        self.queue.put_nowait((chunk, events))
        self.pending += events
        return True

    def written(self, events: int) -> None:
        """The writer sent them; when nothing is left, a subscriber still catching up may
        take its next page."""
        self.pending -= events
        if self.pending == 0 and self.waiting_for_room:
            self.waiting_for_room = False
            self._wake()

    def close(self, reason: str) -> None:
        if self.closed_because is not None:
            return
        self.closed_because = reason
        if self.on_close is not None:
            self.on_close()


class Hub:
    def __init__(
        self,
        database_url: str,
        *,
        application_name: str = APPLICATION_NAME,
        page_size: int = 500,
        queue_size: int = 1000,
        idle_s: float = 5.0,
        hole_poll_s: float = 0.05,
        backoff_cap_s: float = 5.0,
    ) -> None:
        self.conninfo = libpq_url(database_url)
        self.application_name = application_name
        self.page_size = page_size
        self.queue_size = queue_size
        self.idle_s = idle_s
        self.hole_poll_s = hole_poll_s
        self.backoff_cap_s = backoff_cap_s
        self.head: int | None = None
        self.connected = False
        self.connects = 0
        self.delivered = 0
        self.dropped = 0
        self.subscribers: set[Subscriber] = set()
        # every id up to `settled` that the table lacks never will have (rolled back)
        self._settled = 0
        # a missing id was seen: (xmax of that snapshot, the largest id the snapshot saw)
        self._hole: tuple[int, int] | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._ready = asyncio.Event()

    # -- subscribers ------------------------------------------------------------------

    def subscribe(self, filters: Filters, last_event_id: int | None) -> Subscriber:
        """From `last_event_id` on (every change after it), else from now on."""
        cursor = last_event_id if last_event_id is not None else self.head
        subscriber = Subscriber(filters, cursor, self.queue_size, self._wake.set)
        self.subscribers.add(subscriber)
        self._wake.set()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self.subscribers:
            self.subscribers.discard(subscriber)
            self.dropped += subscriber.overflowed

    async def ready(self) -> None:
        await self._ready.wait()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    # -- the loop ---------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until stop(); reconnect with capped backoff when the database goes away."""
        failures = 0
        while not self._stopping.is_set():
            try:
                await self._serve()
            except (psycopg.Error, OSError) as exc:
                failures = 1 if self.connected else failures + 1
                self.connected = False
                delay = min(self.backoff_cap_s, 0.25 * 2 ** (failures - 1))
                delay = delay / 2 + _jitter.uniform(0, delay / 2)
                logger.warning(
                    "change feed: database connection lost (%.200s); reconnecting in %.1f s",
                    exc,
                    delay,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
        self.connected = False

    async def _serve(self) -> None:
        conn = await psycopg.AsyncConnection.connect(
            self.conninfo, application_name=self.application_name, **CONNECTION_OPTIONS
        )
        async with conn:
            await conn.execute(
                sql.SQL("LISTEN {}").format(sql.Identifier(CHANGES_CHANNEL))
            )
            self.connects += 1
            self.connected = True
            logger.info("change feed: listening on %s", CHANGES_CHANNEL)
            if self.head is None:
                await self._find_head(conn)
            while not self._stopping.is_set():
                self._wake.clear()
                more = await self._advance(conn)
                more = await self._catch_up(conn) or more
                if not more:
                    await self._wait(
                        conn, self.hole_poll_s if self._hole else self.idle_s
                    )

    async def _find_head(self, conn: queries.Conn) -> None:
        """Now: the largest id, once every transaction that could still commit a smaller
        one has ended (so no subscriber starting live misses one)."""
        xmax, top = await queries.start(conn)
        while await queries.snapshot_xmin(conn) < xmax:
            await asyncio.sleep(self.hole_poll_s)
        self.head = self._settled = top
        for subscriber in self.subscribers:
            if subscriber.cursor is None:
                subscriber.cursor = top
        self._ready.set()

    async def _advance(self, conn: queries.Conn) -> bool:
        """Deliver the changes after head that no earlier id can still come before.
        True when a full page was delivered (read again at once)."""
        assert self.head is not None  # noqa: S101  # set before the loop starts
        xmin, xmax, changes = await queries.newer(conn, self.head, self.page_size)
        if self._hole is not None and xmin >= self._hole[0]:
            # every transaction running when the hole was seen has ended
            self._settled = max(self._settled, self._hole[1])
            self._hole = None
        ready: list[Change] = []
        expected = self.head + 1
        for change in changes:
            if change.id != expected and change.id - 1 > self._settled:
                if self._hole is None:
                    self._hole = (xmax, changes[-1].id)
                break
            ready.append(change)
            expected = change.id + 1
        if ready:
            self._fan_out(ready)
        return bool(ready) and len(ready) == self.page_size

    def _fan_out(self, changes: list[Change]) -> None:
        assert self.head is not None  # noqa: S101  # set before the loop starts
        head, new_head = self.head, changes[-1].id
        # one chunk per distinct filter, shared by the subscribers that asked for it
        chunks: dict[Filters, tuple[bytes, int]] = {}
        for subscriber in list(self.subscribers):
            cursor = subscriber.cursor
            if cursor is None or cursor < head:
                continue  # still catching up from the table: it reads these there
            if cursor == head:
                chunk = chunks.get(subscriber.filters)
                if chunk is None:
                    chunk = chunks[subscriber.filters] = _chunk(
                        changes, subscriber.filters, head
                    )
            else:  # it resumed from an id this process has not reached yet
                chunk = _chunk(changes, subscriber.filters, cursor)
            if chunk[1]:
                subscriber.offer(*chunk)
            subscriber.cursor = max(cursor, new_head)
        self.head = new_head
        self.delivered += len(changes)

    async def _catch_up(self, conn: queries.Conn) -> bool:
        """One page for each resuming subscriber with room for it; True while any still
        has pages to read and room to take them."""
        assert self.head is not None  # noqa: S101  # set before the loop starts
        more = False
        for subscriber in list(self.subscribers):
            cursor = subscriber.cursor
            if cursor is None or cursor >= self.head or subscriber.closed_because:
                continue
            limit = min(self.page_size, subscriber.room)
            if limit < min(self.page_size, max(1, self.queue_size // 2)):
                subscriber.waiting_for_room = True  # its writer wakes us when emptied
                continue
            if subscriber.resumed:
                subscriber.resumed = False
                await self._say_if_expired(conn, subscriber, cursor)
            changes = await queries.missed(
                conn, cursor, self.head, subscriber.filters, limit
            )
            if changes:
                subscriber.offer(b"".join(c.event for c in changes), len(changes))
            subscriber.cursor = changes[-1].id if len(changes) == limit else self.head
            more = more or subscriber.cursor < self.head
        return more

    async def _say_if_expired(
        self, conn: queries.Conn, subscriber: Subscriber, cursor: int
    ) -> None:
        """Retention removed changes after the client's id: it must re-read its state."""
        first = await queries.oldest(conn)
        if first is not None and first > cursor + 1:
            subscriber.offer(
                b'event: expired\ndata: {"last_event_id": %d, "oldest_id": %d}\n\n'
                % (cursor, first),
                1,
            )

    async def _wait(self, conn: queries.Conn, timeout: float) -> None:
        """Until a NOTIFY, a wake-up (a subscriber came or drained) or the timeout."""

        async def notified() -> None:
            async for _ in conn.notifies(stop_after=1):
                pass

        listening = asyncio.ensure_future(notified())
        woken = asyncio.ensure_future(self._wake.wait())
        done, pending = await asyncio.wait(
            {listening, woken}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            # safe mid-wait: nothing was read yet, and notifies() gives back the lock
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if listening in done:
            listening.result()  # a lost connection raises here


def _chunk(changes: list[Change], filters: Filters, after: int) -> tuple[bytes, int]:
    """The events of `changes` after id `after` that `filters` lets through, and how many."""
    events = [c.event for c in changes if c.id > after and filters.matches(c)]
    return b"".join(events), len(events)
