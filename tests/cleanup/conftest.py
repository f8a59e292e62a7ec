"""Fixtures for the cleanup flow: the emulator as Cloudinary, its account in Settings,
sessions on the test's own committed database, a governor on the test's Redis index, and
listeners run in threads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from cloudinary_emulator import Emulator
from workers.cleanup.calls import RetryPolicy
from workers.cleanup.drain import CleanupPolicy
from workers.cleanup.guard import Guardrails
from workers.cleanup.listener import Listener
from workers.config import CloudinaryAccount, Settings

# Retries in milliseconds instead of seconds, so fault tests finish quickly.
FAST = CleanupPolicy(
    retry=RetryPolicy(backoff_base_s=0.05, backoff_cap_s=0.2, max_rate_limit_wait_s=10)
)
# For tests of batching and faults that delete a few hundred rows at once: the mass-delete
# breaker's limits above their volume (its own tests are in test_guardrails.py).
BULK = replace(FAST, guardrails=Guardrails(max_rows=100_000, max_share=1.0))


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator(cloud_name="cleanup-tests", rate_limit=5000) as em:
        yield em


@pytest.fixture
def settings(committed_db: str, redis_url: str, account: CloudinaryAccount) -> Settings:
    """Overrides the root fixture: the Celery worker and tasks talk to the emulator."""
    return Settings(database_url=committed_db, redis_url=redis_url, cloudinary=account)


@pytest.fixture
def fast_policy() -> CleanupPolicy:
    return FAST


def seed(
    cloud: Emulator,
    sessions: sessionmaker[Session],
    count: int,
    prefix: str = "t/",
    resource_type: str = "image",
    delivery_type: str = "upload",
) -> list[str]:
    """`count` assets in the emulator and a live mirror row for each; their public_ids."""
    cloud.client.seed(
        count=count, prefix=prefix, resource_type=resource_type, type=delivery_type
    )
    public_ids = sorted(
        a["public_id"]
        for a in cloud.client.assets(resource_type=resource_type, type=delivery_type)
        if a["public_id"].startswith(prefix)
    )
    with sessions.begin() as session:
        session.execute(
            text(
                "INSERT INTO media_assets (public_id, asset_id, resource_type,"
                " delivery_type, version)"
                " SELECT pid, md5(pid), :rt, :dt, 1 FROM unnest(CAST(:pids AS text[])) pid"
            ),
            {"pids": public_ids, "rt": resource_type, "dt": delivery_type},
        )
    return public_ids


def queue_statuses(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions.begin() as session:
        rows = session.execute(
            text("SELECT status, count(*) FROM cloudinary_cleanup_queue GROUP BY 1")
        )
        return {status: int(n) for status, n in rows}


def remaining(cloud: Emulator, prefix: str = "t/") -> list[str]:
    return [
        a["public_id"]
        for a in cloud.client.assets()
        if a["public_id"].startswith(prefix)
    ]


class ListenerThread:
    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.thread = threading.Thread(target=listener.run, name="test-listener")

    def start(self) -> ListenerThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.listener.stop()
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "the listener did not stop"


@pytest.fixture
def start_listener() -> Iterator[Callable[..., ListenerThread]]:
    """Start listeners in threads (stopped at teardown): start_listener(url, kick, **kw)."""
    started: list[ListenerThread] = []

    def start(
        database_url: str, kick: Callable[[int], None], **options: object
    ) -> ListenerThread:
        options.setdefault("heartbeat_s", 0.5)
        options.setdefault("poll_s", 0.2)
        handle = ListenerThread(Listener(database_url, kick, **options)).start()
        started.append(handle)
        return handle

    yield start
    for handle in started:
        if handle.thread.is_alive():
            handle.stop()
