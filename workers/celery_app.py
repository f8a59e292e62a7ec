"""The Celery app, its configuration, and the per-process resources tasks use.

`app` is the `-A` target. Settings are read from the environment the first time something
needs them (a worker process, the receiver); tests call `configure(settings)` first instead.
The SQLAlchemy engine is created lazily in each process, after a prefork worker has forked
(see SQLAlchemy's "Using Connection Pools with Multiprocessing").
"""

from __future__ import annotations

import functools
import gc
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from celery import Celery
from celery.signals import worker_init, worker_process_init
from kombu import pools
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from db.session import make_engine, make_sessionmaker
from workers.cloudinary_client import CloudinaryClient
from workers.config import Settings
from workers.rate_governor import RateGovernor

# Queues by flow, so a long reconcile never sits in front of webhook applies or deletes.
INBOX_QUEUE = "mediasync.inbox"
CLEANUP_QUEUE = "mediasync.cleanup"
MAINTENANCE_QUEUE = "mediasync.maintenance"
ALL_QUEUES = (INBOX_QUEUE, CLEANUP_QUEUE, MAINTENANCE_QUEUE)

# Longer than the slowest task and countdown, or Redis redelivers tasks still running.
VISIBILITY_TIMEOUT_S = 3600

# Each flow's tasks, imported by a worker (and beat) as it starts: by name, so the core
# does not import the flows.
TASK_MODULES = (
    "workers.inbox.tasks",
    "workers.cleanup.tasks",
    "workers.reconcile.tasks",
    "workers.beat.maintenance",
)

app = Celery("mediasync", include=TASK_MODULES)

_settings: Settings | None = None
_engine: Engine | None = None
_sessionmaker: sessionmaker[Session] | None = None
_clients: dict[float, tuple[Settings, CloudinaryClient, RateGovernor]] = {}


def celery_config(settings: Settings) -> dict[str, Any]:
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT_S},
        "task_default_queue": MAINTENANCE_QUEUE,
        "task_acks_late": True,
        # a worker killed mid-task (OOM, SIGKILL) gives its message back instead of losing it
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "result_backend": None,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        "worker_hijack_root_logger": False,
    }


def configure(settings: Settings) -> None:
    """Point this process's app and database at `settings` (tests, embedded runs)."""
    global _settings, _engine, _sessionmaker
    if _engine is not None:
        _engine.dispose()
    _settings, _engine, _sessionmaker = settings, None, None
    app.conf.update(celery_config(settings))
    forget_broker_connections()


def forget_broker_connections() -> None:
    # Pools made for the previous configuration point at the old broker, and a worker that
    # shut down in this process (tests, embedded runs) leaves its pools closed in kombu's
    # process-wide registry. Drop both so the next send connects afresh, as after a fork.
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None
    for group in (pools.connections, pools.producers):
        for key, pool in list(group.items()):
            # a producer pool is dead too when the connection pool under it was closed
            inner = getattr(pool, "connections", None)
            if getattr(pool, "_closed", False) or getattr(inner, "_closed", False):
                del group[key]


def get_settings() -> Settings:
    if _settings is None:
        configure(Settings.from_env(os.environ))
    assert _settings is not None  # noqa: S101 -- configure() sets it
    return _settings


def get_sessionmaker() -> sessionmaker[Session]:
    global _engine, _sessionmaker
    if _sessionmaker is None:
        _engine = make_engine(get_settings().database_url)
        _sessionmaker = make_sessionmaker(_engine)
    return _sessionmaker


def cloudinary(timeout_s: float) -> tuple[CloudinaryClient, RateGovernor]:
    """This process's Admin API client (calls time out after `timeout_s`) and the account's
    rate governor: built once per configuration, like the engine, after a worker forked.
    Raises SettingsError without CLOUDINARY_URL."""
    settings = get_settings()
    made = _clients.get(timeout_s)
    if made is None or made[0] is not settings:
        account = settings.account
        governor = RateGovernor(redis_client(settings.redis_url), account.cloud_name)
        made = (settings, CloudinaryClient(account, timeout=timeout_s), governor)
        _clients[timeout_s] = made
    return made[1], made[2]


@functools.cache
def redis_client(url: str) -> redis.Redis:
    """One Redis client per process and URL (a pool inside; made after the fork)."""
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction: commits when the block ends, rolls back if it raises."""
    with get_sessionmaker().begin() as session:
        yield session


def worker_name() -> str:
    """Who holds a lease: host and pid, so an operator can find the process."""
    return f"{socket.gethostname()}:{os.getpid()}"


@app.on_after_configure.connect
def _load_settings_when_celery_configures(sender: Celery, **_: Any) -> None:
    # `celery -A workers.celery_app worker` reaches here before any task runs.
    if _settings is None:
        get_settings()


@worker_init.connect
@worker_process_init.connect
def _freeze_startup_objects(**_: Any) -> None:
    """Keep what a worker loaded at startup (modules, the app, SQLAlchemy's metadata) out of
    the garbage collector's full passes: an apply allocates enough to run several a second,
    each walking every object the process holds (13 % of a drain's time before this). In
    the prefork parent it also spares the children copying those pages when a pass touches
    them (gc.freeze's documented use)."""
    gc.freeze()
