"""One round trip in this process: SDK operations against the emulator, their captured
notifications stored in the inbox as the receiver stores them, the inbox drained by the
apply (workers.inbox.batch.drain, as a worker's task runs it), and the mirror compared with the
Admin API. Fast enough for a property test to do it hundreds of times."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from cloudinary_emulator import Emulator
from tests.chaos import ops
from tests.chaos.capture import Captured, Sink
from tests.chaos.compare import Comparison, cloudinary_view, compare, mirror_view
from tests.chaos.delivery import InboxState, inbox_state
from tests.chaos.history import emulator_sdk_options
from tests.chaos.stack import clear_tables
from webhook_receiver.inbox_writer import InboxWriter
from workers.cloudinary_client import CloudinaryClient
from workers.config import CloudinaryAccount
from workers.inbox import batch as inbox


@dataclass
class RoundTrip:
    emulator: Emulator
    sink: Sink
    sessions: sessionmaker[Session]
    writer: InboxWriter

    def __post_init__(self) -> None:
        account = CloudinaryAccount.parse(self.emulator.cloudinary_url)
        self.opts = emulator_sdk_options(self.emulator)
        # the re-fetches' Admin API client (the workers wrap the same in a shared budget)
        self.fetcher = CloudinaryClient(account, timeout=10)

    def reset(self) -> None:
        self.emulator.reset()
        self.emulator.client.notifications(
            True, url=self.sink.url, attempts=5, base_delay=0.05
        )
        self.emulator.client.set_rate_limit(1_000_000)
        ops.define_metadata_fields(self.opts)
        self.sink.take()
        clear_tables(self.sessions)

    def perform(self, operations: Iterable[ops.Op]) -> list[Captured]:
        """Run the operations (refused ones are skipped); the notifications they made."""
        for op in operations:
            ops.run(op, self.opts)
        assert self.emulator.wait_deliveries_idle(30), "emulator deliveries stuck"
        return self.sink.take()

    def store(self, item: Captured) -> None:
        """What the receiver does with a verified body (webhook_receiver/views.py)."""
        self.writer.record(
            digest=hashlib.sha256(item.body).hexdigest(),
            notification_type=item.notification_type,
            body=item.body.decode(),
            signed_at=int(item.timestamp),
        )

    def drain(self) -> None:
        inbox.drain(self.sessions.begin, fetcher=self.fetcher)

    def deliver(
        self, captured: Sequence[Captured], plan: Sequence[int], drains: Iterable[int]
    ) -> InboxState:
        """Store captured[plan[0]], captured[plan[1]], …, draining after each position
        in `drains`, and once more at the end."""
        after = set(drains)
        for position, index in enumerate(plan):
            self.store(captured[index])
            if position in after:
                self.drain()
        self.drain()
        with self.sessions.begin() as session:
            return inbox_state(session)

    def differences(self) -> Comparison:
        truth = cloudinary_view(self.opts)
        with self.sessions.begin() as session:
            return compare(truth, mirror_view(session))


def describe(captured: Sequence[Captured], plan: Sequence[int]) -> str:
    """The delivery as a reader needs it: position, production index, type, asset."""
    lines = []
    for position, index in enumerate(plan):
        body = captured[index].parsed
        lines.append(f"  {position:2d}: #{index} {_summary(body)}")
    return "\n".join(lines)


def _summary(body: dict[str, object]) -> str:
    kind = str(body.get("notification_type"))
    if kind == "rename":
        return f"rename {body.get('from_public_id')} -> {body.get('to_public_id')}"
    if kind == "upload":
        return (
            f"upload {body.get('public_id')} v{body.get('version')}"
            f" asset {str(body.get('asset_id'))[:6]}"
            f" tags={body.get('tags')} context={body.get('context')}"
        )
    resources = body.get("resources")
    names = (
        list(resources)
        if isinstance(resources, dict)
        else [r.get("public_id") for r in resources if isinstance(r, dict)]
        if isinstance(resources, list)
        else []
    )
    return f"{kind} {names}"
