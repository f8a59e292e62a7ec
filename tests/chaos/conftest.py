"""Fixtures of the chaos suite, generic enough for every scenario in tests/chaos/.

- `chaos_profile`: quick (default, inside `make test`) or full (MEDIASYNC_CHAOS=full,
  `make chaos`): how big and how many the generated histories are.
- `chaos_emulator`: the session's emulator as Cloudinary, with an Admin budget no run
  exhausts (budget faults are scenarios of their own, not noise here).
- `notification_sink`: a loopback server capturing what the emulator notifies.
- `chaos_history(seed)`: a generated history (operations, captured notifications in
  production order, the emulator's final state), made once per seed and session;
  `restore_truth(history)` puts the emulator back into that history's final state.
- `round_trip`: SDK operations -> captured notifications -> the in-process apply on a
  committed database of the test's own -> the comparison (tests/chaos/roundtrip.py).
- `chaos_stack`: receiver over HTTP + 2 `mediasync worker` processes on a database of
  this module's own; `clear()` it between runs.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from cloudinary_emulator import Emulator
from db.session import make_engine, make_sessionmaker
from tests.chaos import history as histories
from tests.chaos.capture import Sink, capturing_sink
from tests.chaos.roundtrip import RoundTrip
from tests.chaos.stack import Stack, running_stack
from tests.pg import create_database, drop_database
from webhook_receiver.inbox_writer import InboxWriter
from workers.config import CloudinaryAccount, Settings

WORKER_PROCESSES = 2


def chaos_mode() -> str:
    """MEDIASYNC_CHAOS as the pytest process was started with it.

    tests/conftest.py strips every MEDIASYNC_* variable at import (so a developer's
    settings do not leak into tests), before this file is read; on Linux the process's
    initial environment still holds the switch.
    """
    if "MEDIASYNC_CHAOS" in os.environ:
        return os.environ["MEDIASYNC_CHAOS"]
    try:
        initial = Path("/proc/self/environ").read_bytes().split(b"\0")
    except OSError:
        return "quick"
    for entry in initial:
        name, _, value = entry.partition(b"=")
        if name == b"MEDIASYNC_CHAOS":
            return value.decode(errors="replace")
    return "quick"


@pytest.fixture(scope="session")
def chaos_profile() -> histories.Profile:
    return histories.FULL if chaos_mode() == "full" else histories.QUICK


@pytest.fixture(scope="session")
def chaos_emulator() -> Iterator[Emulator]:
    with Emulator(
        cloud_name="chaos",
        rate_limit=1_000_000,
        notification_attempts=5,
        notification_base_delay=0.05,
    ) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def notification_sink() -> Iterator[Sink]:
    with capturing_sink() as sink:
        yield sink


@pytest.fixture(scope="session")
def chaos_history(
    chaos_emulator: Emulator, notification_sink: Sink, chaos_profile: histories.Profile
) -> Callable[[int], histories.History]:
    made: dict[int, histories.History] = {}

    def get(seed: int) -> histories.History:
        if seed not in made:
            made[seed] = histories.generate(
                chaos_emulator, notification_sink, seed, chaos_profile
            )
        return made[seed]

    return get


@pytest.fixture(scope="session")
def restore_truth(chaos_emulator: Emulator) -> Callable[[histories.History], None]:
    def restore(history: histories.History) -> None:
        chaos_emulator.client.notifications(False)
        chaos_emulator.client.clear_faults()
        chaos_emulator.client.set_rate_limit(1_000_000)
        chaos_emulator.store.restore(history.final_state)

    return restore


@pytest.fixture
def round_trip(
    committed_db: str, chaos_emulator: Emulator, notification_sink: Sink
) -> Iterator[RoundTrip]:
    engine = make_engine(committed_db)
    writer = InboxWriter(committed_db)
    try:
        yield RoundTrip(
            chaos_emulator, notification_sink, make_sessionmaker(engine), writer
        )
    finally:
        writer.close()
        engine.dispose()


@pytest.fixture(scope="module")
def chaos_stack(
    pg_server_url: str, template_db: str, _redis_db_index: str, chaos_emulator: Emulator
) -> Iterator[Stack]:
    name = f"mediasync_chaos_{uuid.uuid4().hex[:8]}"
    url = create_database(pg_server_url, name, template=template_db)
    settings = Settings(
        database_url=url,
        redis_url=_redis_db_index,
        cloudinary=CloudinaryAccount.parse(chaos_emulator.cloudinary_url),
    )
    try:
        with (
            tempfile.TemporaryDirectory(prefix="mediasync-chaos-") as logs,
            running_stack(
                settings, chaos_emulator.cloudinary_url, WORKER_PROCESSES, Path(logs)
            ) as stack,
        ):
            yield stack
    finally:
        drop_database(pg_server_url, name)
        _forget_keys(_redis_db_index)


def _forget_keys(url: str) -> None:
    """Drop what the run left in Redis (queues, budget), but the session's claim on the
    index (tests/conftest.py keeps it under its one key)."""
    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(count=1000):
            if key != b"mediasync-test-session-claim":
                client.delete(key)
    finally:
        client.close()
