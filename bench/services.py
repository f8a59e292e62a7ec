"""Servers for a benchmark: a scratch database (migrated) and a Redis.

DATABASE_URL / REDIS_URL name servers to use; otherwise embedded ones start for the run.
Everything started or created is undone by the caller's ExitStack.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from db.migrate import migrate
from db.urls import libpq_url, with_database
from mediasync.embedded import LocalPostgres, LocalRedis
from workers.celery_app import configure
from workers.config import CloudinaryAccount, Settings


def scratch_services(
    stack: ExitStack, *, durable: bool = False, own_redis: bool = False
) -> tuple[str, str]:
    """(a migrated scratch database URL, a Redis URL).

    `durable` keeps fsync on for an embedded PostgreSQL (when commits are what is measured);
    `own_redis` always starts a private Redis (when the benchmark flushes it).
    """
    scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
    server = os.environ.get("DATABASE_URL")
    if not server:
        postgres = LocalPostgres(scratch / "pg", durable=durable)
        postgres.start()
        stack.callback(postgres.stop)
        server = postgres.url
    redis_url = None if own_redis else os.environ.get("REDIS_URL")
    if not redis_url:
        cache = LocalRedis(scratch / "redis")
        cache.start()
        stack.callback(cache.stop)
        redis_url = cache.url
    name = f"mediasync_bench_{uuid.uuid4().hex[:8]}"
    admin = libpq_url(with_database(server, "postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    stack.callback(_drop, admin, name)
    url = with_database(server, name)
    migrate(url, report=lambda _line: None)
    return url, redis_url


def _drop(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )


def configured_settings(
    database_url: str, redis_url: str, cloudinary_url: str
) -> Settings:
    """Settings for a benchmark's own processes; this process's Celery app follows them."""
    settings = Settings(
        database_url=database_url,
        redis_url=redis_url,
        cloudinary=CloudinaryAccount.parse(cloudinary_url),
    )
    configure(settings)
    return settings


def rounds_on_scratch(
    count: int, run_once: Callable[[str, str, ExitStack], dict[str, Any]]
) -> list[dict[str, Any]]:
    """`run_once(database_url, redis_url, stack)` `count` times, each round on its own
    scratch database (undone by `stack` when the round ends)."""
    rounds = []
    for _ in range(count):
        with ExitStack() as stack:
            database_url, redis_url = scratch_services(stack)
            rounds.append(run_once(database_url, redis_url, stack))
    return rounds


def median_round(
    rounds: list[dict[str, Any]], per_round: tuple[str, ...]
) -> dict[str, Any]:
    """The round with the median `seconds`, with every round's `per_round` figures beside
    it (a scenario repeated on a noisy machine is quoted by its middle run)."""
    ordered = sorted(rounds, key=lambda r: r["seconds"])
    middle = dict(ordered[(len(ordered) - 1) // 2])
    middle["rounds"] = len(rounds)
    middle["per_round"] = [{key: r[key] for key in per_round} for r in rounds]
    return middle
